"""What a console action changes, through the same flow code staff's chat commands use.

Rejecting tells the askers (handlers.staff), merging keeps the matcher in step and tells those
merged into an answered cluster, publishing records an answer revision and tells everyone in
the cluster through the outbox in her own channel (handlers.answers.tell_answer). Each runs
inside the caller's transaction; `finish` applies the matcher updates after the commit.
"""

from __future__ import annotations

import aiosqlite

from handlers import questions
from handlers import staff as staff_flow
from handlers.answers import tell_answer, tell_followup
from handlers.domain import Status
from handlers.engine import IDLE, Context, Services
from handlers.types import Incoming
from storage import attachments, reports
from storage import queries as q

__all__ = ["approve", "finish", "flow_context", "forwarded", "merge", "publish", "reject"]


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
                  recorded_by: str, pdf: attachments.Attachment | None = None) -> int:
    """Record the answer as the cluster's next revision and queue it for everyone in the
    cluster not yet told it (with the department's PDF, if it has one); how many people will
    be told."""
    revision = await q.record_answer(ctx.conn, cluster_id, answer, agency, recorded_by,
                                     now=ctx.now)
    if pdf is not None:
        await attachments.publish_pdf(ctx.conn, pdf.id, revision.id)
    return await tell_answer(ctx, cluster_id)
