"""Telling people a cluster's answer, and later its commitment and result: once per person per
revision or step, whenever they arrive.

One function serves every path that can leave someone in an answered cluster without its
answer: staff record or correct it, a member supports it or her question joins it, a leader's
relay joins it, staff merge a cluster into it. Each queues the current revision for whoever in
the cluster has not been sent it, in the transaction of the change, so a restart neither loses
nor repeats a notice (answer_notices, and the outbox dedupe key per revision and question).

After the dialogue the same holds for the steps of storage/lifecycle.py that concern her: which
agency will resolve her matter and by when (the commitment in force), then the result
(resolved / not resolvable). `tell_followup` queues them (step_notices, key per step and
question); `tell_answer` calls it too, so a woman joining a cluster hears all she missed.
Before the answer, the same machinery tells her the forward in force: which lead department and
by when (the run of identical lead forwards counts as one step, so forwarding again unchanged
tells nobody; a new lead or deadline tells once more).
"""

from __future__ import annotations

from itertools import groupby

from storage import attachments, reports
from storage import lifecycle as lc
from storage import queries as q

from . import formats
from .engine import Context

__all__ = ["people_to_tell", "same_answer", "tell_answer", "tell_followup"]

PREVIOUS_LIMIT = 160  # the replaced answer is shown briefly; the new one always in full
# Where her question went comes before the answer; the after-answer steps are "followup_*".
_PURPOSE = {lc.FORWARDED: "forward_notice"}


async def tell_answer(ctx: Context, cluster_id: int) -> int:
    """Queue the cluster's current answer for everyone in it not yet sent it; how many people.

    A woman with several questions in the cluster (asked twice, or merged from two clusters)
    gets one message naming every receipt. One who already knows an earlier answer is told it
    is a correction and what it replaces."""
    current = await q.current_answer(ctx.conn, cluster_id)
    count = await _tell_revision(ctx, current) if current is not None else 0
    await tell_followup(ctx, cluster_id)
    return count


async def _tell_revision(ctx: Context, current: q.AnswerRevision) -> int:
    cluster_id = current.cluster_id
    count = 0
    senders = await q.who_should_know_the_answer(ctx.conn, cluster_id, current.id)
    by_person = sorted(senders, key=lambda s: (s.user_id, s.question_id))
    for _, group in groupby(by_person, key=lambda s: s.user_id):
        questions = list(group)
        untold = [s for s in questions if not s.told]
        if not untold:
            continue
        if len(untold) == len(questions) and await _enqueue(ctx, current, untold):
            count += 1
            await _enqueue_pdf(ctx, current, untold)
        # Otherwise she knows this revision through another of her questions: record only.
        for s in untold:
            await q.record_answer_notice(ctx.conn, s.question_id, current.id, now=ctx.now)
    return count


async def people_to_tell(ctx: Context, cluster_id: int, revision_id: int | None) -> int:
    """How many people would be sent the given revision (None: a revision not yet saved)."""
    senders = await q.who_should_know_the_answer(ctx.conn, cluster_id, revision_id)
    told = {s.user_id for s in senders if s.told}
    return len({s.user_id for s in senders} - told)


def same_answer(current: q.AnswerRevision, answer: str, agency: str) -> bool:
    """Saving the same text again (a double press, an old button) is not a correction."""
    return (" ".join(current.answer.split()) == " ".join(answer.split())
            and current.agency.strip() == agency.strip())


async def _enqueue(ctx: Context, current: q.AnswerRevision, untold: list[q.AnswerSender]) -> bool:
    first = untold[0]
    receipt = ", ".join(s.receipt for s in untold)
    known = max(untold, key=lambda s: s.last_notice)
    if known.last_answer is None:
        text = ctx.t("notify.answer", receipt=receipt, agency=current.agency,
                     answer=current.answer)
        purpose = "answer"
    else:
        text = ctx.t("notify.answer_update", receipt=receipt, agency=current.agency,
                     answer=current.answer, previous=_brief(known.last_answer))
        purpose = "answer_update"
    # Revision 1 keeps the key the code before revisions used, so an upgraded database does
    # not send a first answer again.
    key = f"answer:{current.cluster_id}:{first.question_id}"
    if current.revision > 1:
        key += f":{current.revision}"
    return await q.enqueue(ctx.conn, first.channel, first.chat_id, text, purpose=purpose,
                           dedupe_key=key, now=ctx.now)


async def _enqueue_pdf(ctx: Context, current: q.AnswerRevision,
                       untold: list[q.AnswerSender]) -> None:
    """After the answer, the department's PDF published with this revision, if any: as a
    document where her channel sends one, else a message that the Union holds it."""
    pdf = await attachments.pdf_of_revision(ctx.conn, current.id)
    if pdf is None:
        return
    first = untold[0]
    receipt = ", ".join(s.receipt for s in untold)
    key = f"answer_pdf:{pdf.id}:{first.question_id}"
    if first.channel in ctx.settings.document_channels:  # else: the Union holds it
        caption = ctx.t("console_files.pdf_caption", agency=current.agency, receipt=receipt)
        await attachments.enqueue_pdf(ctx.conn, first.channel, first.chat_id, caption, pdf.id,
                                      key, now=ctx.now)
        return
    await q.enqueue(ctx.conn, first.channel, first.chat_id,
                    ctx.t("console_files.pdf_held", agency=current.agency, receipt=receipt),
                    purpose="answer_pdf_held", dedupe_key=key, now=ctx.now)


def _brief(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIOUS_LIMIT else text[: PREVIOUS_LIMIT - 1].rstrip() + "…"


async def tell_followup(ctx: Context, cluster_id: int) -> int:
    """Queue the commitment in force (agency, what, by when) and the result, for everyone in
    the cluster not yet sent them; how many people were queued a message.

    Once the cluster is closed, someone who never heard the commitment hears only the result
    (it names the agency). One message per person, naming all her receipts."""
    stage = await lc.current_stage(ctx.conn, cluster_id)
    forward = await _forward_to_tell(ctx, cluster_id)
    # Once answered (or later), the forward is old news: recorded as known, not sent.
    forward_stale = (stage.commitment is not None or stage.result is not None
                     or await q.current_answer(ctx.conn, cluster_id) is not None)
    steps = [s for s in (forward, stage.commitment, stage.result) if s is not None]
    people: set[int] = set()
    for step in steps:
        listeners = await lc.who_should_know_step(ctx.conn, cluster_id, step.id)
        by_person = sorted(listeners, key=lambda s: (s.user_id, s.question_id))
        for user_id, group in groupby(by_person, key=lambda s: s.user_id):
            questions = list(group)
            untold = [s for s in questions if not s.told]
            if not untold:
                continue
            skip = ((step is stage.commitment and stage.result is not None)
                    or (step is forward and forward_stale))
            if len(untold) == len(questions) and not skip and await _enqueue_step(
                    ctx, step, untold):
                people.add(user_id)
            for s in untold:
                await lc.record_step_notice(ctx.conn, s.question_id, step.id, now=ctx.now)
    return len(people)


async def _enqueue_step(ctx: Context, step: lc.Step, untold: list[lc.StepListener]) -> bool:
    first = untold[0]
    receipt = ", ".join(s.receipt for s in untold)
    due = formats.day(step.due) if step.due else ""
    agency = step.department_name or ctx.settings.union_name
    if step.step == lc.FORWARDED:
        text = ctx.t("forward_notice.forwarded", receipt=receipt, department=agency,
                     deadline=due)
    elif step.step == lc.COMMITTED:
        text = ctx.t("lifecycle.notify.committed", receipt=receipt, agency=agency,
                     what=step.note, due=due)
    else:
        text = ctx.t(f"lifecycle.notify.{step.step}", receipt=receipt, agency=agency,
                     result=step.note)
    return await q.enqueue(ctx.conn, first.channel, first.chat_id, text,
                           purpose=_PURPOSE.get(step.step, f"followup_{step.step}"),
                           dedupe_key=f"step:{step.id}:{first.question_id}", now=ctx.now)


async def _forward_to_tell(ctx: Context, cluster_id: int) -> lc.Step | None:
    """The lead forward in force, as the first step of its run of identical lead forwards
    (same department, same deadline): a second identical /chuyen is the step already told.

    None for a cluster holding a danger disclosure: its forward is the safety staff's to
    tell, as exports give it no receipt code (a phone she shares may be read by others)."""
    leads = [s for s in await lc.steps_of_cluster(ctx.conn, cluster_id)
             if s.step == lc.FORWARDED and s.note == "lead"]
    if not leads:
        return None
    standing = await reports.cluster_standing(ctx.conn, cluster_id)
    if standing is None or standing.disclosure:
        return None
    first = leads[-1]
    for earlier in reversed(leads[:-1]):
        if (earlier.department_id, earlier.due) != (first.department_id, first.due):
            break
        first = earlier
    return first
