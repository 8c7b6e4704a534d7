"""Filing a question, and keeping the matching index in step with every change to one.

`file_question` is the one way a question is stored, whoever sends it: a member's own question
or her support of another (handlers.ask_question), a leader's relay (handlers.leader), words
stored at once because they tell of danger (handlers.escalation). It finds or opens the cluster,
takes the receipt and inserts the row, in the caller's transaction; the callers keep their own
checks and replies.

The index (handlers.engine.Matcher) only ever changes after the commit (`ctx.after_commit`), so
a rolled-back message changes nothing another member is offered. Every change to a question
reaches it through the small functions here: filed, forgotten (rejected, deleted), merged, and
re-read (marked urgent, split, topic changed, cluster rejected). Merging two clusters and
rejecting one are here whole (storage and index), for the chat commands and the console alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from storage import queries as q
from storage import reports
from storage.queries import Filing

from .answers import tell_followup
from .domain import Dialogue
from .duplicates import propose_duplicate
from .engine import Context, Matcher

__all__ = ["Filed", "Filing", "file_question", "forget_questions", "merge_in_index",
           "resync_clusters"]


@dataclass(frozen=True)
class Filed:
    question_id: int
    cluster_id: int
    receipt: str


async def file_question(ctx: Context, dialogue: Dialogue, filing: Filing, *,
                        cluster_id: int | None = None, match: bool = True,
                        declined: Collection[int] = ()) -> Filed:
    """Store one question in this transaction. It joins `cluster_id` when given (a support),
    else the index's best open cluster unless she `declined` it (when `match`), else a new
    cluster of its own; a new cluster near another goes on staff's list of possible duplicates
    (not an urgent one: staff handle those apart)."""
    if cluster_id is None:
        cluster_id = await _matching_cluster(ctx, dialogue, filing, declined) if match else None
    if cluster_id is None:
        cluster_id = await q.create_cluster(ctx.conn, dialogue.id, filing.topic, filing.urgent,
                                            now=ctx.now)
        if match and not filing.urgent:
            await propose_duplicate(ctx, dialogue.id, cluster_id, filing.text, filing.topic)
    receipt = await q.next_receipt(ctx.conn, dialogue.id, dialogue.code)
    question_id = await q.insert_question(ctx.conn, q.NewQuestion(
        dialogue.id, ctx.user.id, ctx.incoming.channel, cluster_id, filing), receipt, now=ctx.now)
    filed = Filed(question_id, cluster_id, receipt)
    _index_filed(ctx, dialogue.id, filing, filed)
    return filed


async def _matching_cluster(ctx: Context, dialogue: Dialogue, filing: Filing,
                            declined: Collection[int]) -> int | None:
    matcher = ctx.services.matcher
    found = (await matcher.best_cluster(ctx.conn, dialogue.id, filing.text, filing.topic)
             if matcher is not None else None)
    if found is None or int(found.cluster_id) in declined:
        return None
    if not await q.cluster_exists(ctx.conn, int(found.cluster_id), dialogue.id):
        return None
    return int(found.cluster_id)


def _index_filed(ctx: Context, dialogue_id: str, filing: Filing, filed: Filed) -> None:
    if filing.urgent:
        # Words that tell of danger: never offered to another member, nothing joins them
        # (the cluster is urgent now, storage.queries.insert_question).
        _after_commit(ctx, lambda m: m.remove_cluster(dialogue_id, filed.cluster_id))
    elif filing.kind != "support" and not filing.voice_url:
        # A support has no words of its own; a voice message has no text to compare yet.
        _after_commit(ctx, lambda m: m.add(dialogue_id, filed.question_id, filing.text,
                                           filed.cluster_id, filing.topic))


def forget_questions(ctx: Context, gone: Iterable[tuple[int, str]]) -> None:
    """(question id, dialogue id) rejected or erased: no later question joins because of them."""
    pairs = list(gone)

    def apply(matcher: Matcher) -> None:
        for question_id, dialogue_id in pairs:
            matcher.remove(dialogue_id, question_id)

    _after_commit(ctx, apply)


def merge_in_index(ctx: Context, dialogue_id: str, source: int, target: int) -> None:
    """Cluster `source` was merged into `target`: later questions join the target."""
    _after_commit(ctx, lambda m: m.merge(dialogue_id, source, target))


async def resync_clusters(ctx: Context, dialogue_id: str, *cluster_ids: int) -> None:
    """After commit, hold exactly what a restart would load for these clusters (read now, in
    this transaction)."""
    if ctx.services.matcher is None:
        return
    rows = {cid: await q.indexable_questions(ctx.conn, cid) for cid in cluster_ids}

    def apply(matcher: Matcher) -> None:
        for cid, cluster_rows in rows.items():
            matcher.remove_cluster(dialogue_id, cid)
            matcher.add_rows(cluster_rows)

    _after_commit(ctx, apply)


def _after_commit(ctx: Context, change: Callable[[Matcher], None]) -> None:
    matcher = ctx.services.matcher
    if matcher is not None:
        ctx.after_commit.append(lambda: change(matcher))


async def merge_clusters(ctx: Context, source: reports.ClusterSummary,
                         target: reports.ClusterSummary) -> int:
    """Merge source into target (storage, then the matcher after commit); how many moved. A
    merged urgent cluster makes the target urgent: then the whole target stays out of the
    index."""
    moved = await q.merge_clusters(ctx.conn, source.id, target.id)
    merge_in_index(ctx, source.dialogue_id, source.id, target.id)
    if await q.current_answer(ctx.conn, target.id) is None:  # answered: callers tell_answer
        await tell_followup(ctx, target.id)  # those merged in hear where it went, by when
    if source.urgent or target.urgent:
        await resync_clusters(ctx, target.dialogue_id, target.id)
    return moved


async def reject_cluster(ctx: Context, cluster_id: int, reason: str) -> None:
    """A cluster staff refused: stored with its reason, and out of the index at once (no later
    question joins it or is offered it). Telling the askers is the caller's
    (staff.notify_cluster)."""
    await q.reject_cluster(ctx.conn, cluster_id, reason)
    found = await reports.cluster_dialogue(ctx.conn, cluster_id)
    if found is not None:
        await resync_clusters(ctx, found[0], cluster_id)
