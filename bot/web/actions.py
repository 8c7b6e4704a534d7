"""What a console action changes, through the same flow code staff's chat commands use.

Rejecting tells the askers (handlers.staff), merging keeps the matcher in step and tells those
merged into an answered cluster, publishing records an answer revision and tells everyone in
the cluster through the outbox in her own channel (handlers.answers.tell_answer). Each runs
inside the caller's transaction; `finish` applies the matcher updates after the commit.
"""

from __future__ import annotations

from itertools import groupby

import aiosqlite

from handlers import questions
from handlers import staff as staff_flow
from handlers.answers import tell_answer, tell_followup
from handlers.domain import Status
from handlers.engine import IDLE, Context, Services
from handlers.types import Incoming
from storage import attachments, reports
from storage import queries as q

__all__ = ["approve", "finish", "flow_context", "forwarded", "merge", "publish", "reject",
           "send_answer_pdf"]

# Channels whose outbox sender sends a document (bot/channels/telegram: sendDocument). Elsewhere
# (Zalo, the terminal) she is told the Union holds the PDF.
DOCUMENT_CHANNELS = frozenset({"telegram"})


def flow_context(conn: aiosqlite.Connection, services: Services, login: str) -> Context:
    """A flow context for a console account: channel "web", no member behind it."""
    incoming = Incoming(channel="web", chat_id=login, user_id=login)
    user = q.User(id=0, channel="web", external_id=login, chat_id=login, display_name="",
                  consent_at=None, consent_version=None, announcements=False,
                  leader_commune=None, deleted_at=None)
    return Context(incoming=incoming, conn=conn, user=user, state=IDLE, data={}, offered=[],
                   services=services)


def finish(ctx: Context) -> None:
    """After the commit: the matcher follows the change, as after a chat command."""
    for apply in ctx.after_commit:
        apply()


async def approve(ctx: Context, cluster: reports.ClusterSummary) -> bool:
    if cluster.status != Status.NEW:
        return False
    await q.set_cluster_status(ctx.conn, cluster.id, Status.REVIEWED)
    return True


async def reject(ctx: Context, cluster_id: int, reason: str) -> None:
    """Rejected, out of the index, every asker told why (once)."""
    await questions.reject_cluster(ctx, cluster_id, reason)
    await staff_flow.notify_cluster(ctx, cluster_id, "rejected", reason=reason)


async def forwarded(ctx: Context, cluster_id: int) -> int:
    """After a forward: everyone in the cluster hears the lead department and its deadline,
    once (the same telling as commitments, handlers.answers.tell_followup)."""
    return await tell_followup(ctx, cluster_id)


async def merge(ctx: Context, source: reports.ClusterSummary,
                target: reports.ClusterSummary) -> int:
    moved = await questions.merge_clusters(ctx, source, target)
    if await q.current_answer(ctx.conn, target.id) is not None:
        await tell_answer(ctx, target.id)
    return moved


async def publish(ctx: Context, cluster_id: int, answer: str, agency: str,
                  recorded_by: str) -> int:
    """Record the answer as the cluster's next revision and queue it for everyone in the
    cluster not yet told it; how many people will be told."""
    await q.record_answer(ctx.conn, cluster_id, answer, agency, recorded_by, now=ctx.now)
    return await tell_answer(ctx, cluster_id)


async def send_answer_pdf(ctx: Context, cluster_id: int, pdf: attachments.Attachment,
                          agency: str) -> int:
    """After publishing a department's answer that has a PDF: each person sent the answer gets
    the PDF after it, once, on a channel that sends documents; elsewhere, that the Union holds
    it. How many people were queued a message."""
    current = await q.current_answer(ctx.conn, cluster_id)
    if current is None:
        return 0
    senders = await q.who_should_know_the_answer(ctx.conn, cluster_id, current.id)
    count = 0
    by_person = sorted((s for s in senders if s.told), key=lambda s: (s.user_id, s.question_id))
    for user_id, group in groupby(by_person, key=lambda s: s.user_id):
        questions = list(group)
        first, receipt = questions[0], ", ".join(s.receipt for s in questions)
        key = f"answer_pdf:{pdf.id}:{user_id}"
        if first.channel in DOCUMENT_CHANNELS:
            caption = ctx.t("console_files.pdf_caption", agency=agency, receipt=receipt)
            queued = await attachments.enqueue_pdf(ctx.conn, first.channel, first.chat_id,
                                                   caption, pdf.id, key, now=ctx.now)
        else:
            queued = await q.enqueue(
                ctx.conn, first.channel, first.chat_id,
                ctx.t("console_files.pdf_held", agency=agency, receipt=receipt),
                purpose="answer_pdf_held", dedupe_key=key, now=ctx.now)
        count += int(queued)
    return count
