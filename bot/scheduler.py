"""Scheduled work: the daily digest at `digest.time`, local time (Asia/Ho_Chi_Minh), danger
alerts the database could not take (every few seconds), and retention of per-sender tables.

APScheduler 3 runs the jobs; `digest_runs` in SQLite decides whether the digest sends. A run
missed while the bot was down is caught up at start-up the same day; the spool and retention
also run once at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from storage import queries as q
from storage.spool import Alert

from .backups import backup_is_due, backup_now
from .channels.base import Channel
from .digest import due_today, send_daily_digest
from .runtime import Runtime

__all__ = ["backup_job", "drain_alert_spool", "prune_now", "run_digest_now", "start_scheduler"]

SPOOL_SECONDS = 5


async def drain_alert_spool(runtime: Runtime, channels: Sequence[Channel] = ()) -> int:
    """Danger alerts kept outside the database: into the outbox, or sent directly."""

    async def enqueue(alert: Alert) -> None:
        async with runtime.db.transaction() as conn:
            # Linked to her when she is known, so deleting her data scrubs this alert too.
            woman = await q.user_by_external_id(conn, *alert.about) if alert.about else None
            await q.enqueue(conn, alert.channel, alert.chat_id, alert.text, purpose="danger",
                            dedupe_key=alert.key, priority=10, now=runtime.db.clock(),
                            about_user=woman.id if woman else None)

    senders = {c.name: c.send_queued for c in channels}
    delivered = await runtime.spool.drain(enqueue, senders)
    if delivered:
        log.info("%d spooled danger alert(s) delivered", delivered)
        for channel in channels:
            channel.outbox.wake()
    return delivered


async def prune_now(runtime: Runtime) -> None:
    """Retention: delivery ids, idle drafts and never-consented visitors (queries.prune_stale)."""
    try:
        async with runtime.db.transaction() as conn:
            removed = await q.prune_stale(conn, now=runtime.db.clock())
    except Exception as exc:  # a full disk must not stop the bot; it retries next hour
        log.warning("retention pass failed (%s)", type(exc).__name__)
        return
    if any(removed.values()):
        log.info("retention: removed %s", ", ".join(f"{n} {t}" for t, n in removed.items()))

log = logging.getLogger(__name__)


async def run_digest_now(runtime: Runtime, channels: Sequence[Channel] = ()) -> bool:
    """Claim and queue today's digest if nobody has; wake the channels' outbox workers."""
    services = runtime.services
    sent = await send_daily_digest(runtime.db, services.settings, services.locale,
                                   services.clock())
    if sent:
        log.info("daily digest queued")
        for channel in channels:
            channel.outbox.wake()
    return sent


async def backup_job(runtime: Runtime) -> None:
    """[backup]: today's copy and rotation. A failure (full disk) is logged; the bot goes on."""
    try:
        await backup_now(runtime.db, runtime.config)
    except Exception as exc:
        log.error("scheduled backup failed (%s): see `python -m bot doctor`", type(exc).__name__)


async def start_scheduler(runtime: Runtime, channels: Sequence[Channel]) -> AsyncIOScheduler:
    settings = runtime.config.settings
    at = runtime.config.digest_time
    scheduler = AsyncIOScheduler(timezone=settings.timezone)
    scheduler.add_job(
        run_digest_now, CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.timezone),
        args=(runtime, channels), id="daily_digest", replace_existing=True,
        misfire_grace_time=3600, coalesce=True, max_instances=1,
    )
    scheduler.add_job(drain_alert_spool, IntervalTrigger(seconds=SPOOL_SECONDS),
                      args=(runtime, channels), id="alert_spool", replace_existing=True,
                      coalesce=True, max_instances=1)
    scheduler.add_job(prune_now, IntervalTrigger(hours=1), args=(runtime,), id="retention",
                      replace_existing=True, coalesce=True, max_instances=1)
    config = runtime.config
    if config.backup_keep:
        at_backup = config.backup_time
        scheduler.add_job(
            backup_job, CronTrigger(hour=at_backup.hour, minute=at_backup.minute,
                                    timezone=settings.timezone),
            args=(runtime,), id="daily_backup", replace_existing=True,
            misfire_grace_time=3600, coalesce=True, max_instances=1,
        )
    scheduler.start()
    if backup_is_due(config, Path(runtime.db.path), runtime.db.clock):
        await backup_job(runtime)  # down at the slot, or the first start: copy now
    await drain_alert_spool(runtime, channels)  # alerts a dead process left on disk
    await prune_now(runtime)
    now = runtime.services.clock()
    if due_today(settings, at, now):
        # The bot was down (or started late) at today's slot: catch up now; the claim in
        # digest_runs makes this a no-op if today's digest already went out.
        await run_digest_now(runtime, channels)
    return scheduler

