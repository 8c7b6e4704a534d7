"""Scheduled work: the daily digest at `digest.time`, local time (Asia/Ho_Chi_Minh).

APScheduler 3 runs the job; `digest_runs` in SQLite decides whether it sends. A run missed while
the bot was down is caught up at start-up the same day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from .digest import due_today, send_daily_digest
from .runtime import Runtime

__all__ = ["run_digest_now", "start_scheduler"]

log = logging.getLogger(__name__)


async def run_digest_now(runtime: Runtime, channels: Sequence[Any] = ()) -> bool:
    """Claim and queue today's digest if nobody has; wake the channels' outbox workers."""
    services = runtime.services
    sent = await send_daily_digest(runtime.db, services.settings, services.locale,
                                   services.clock())
    if sent:
        log.info("daily digest queued")
        for channel in channels:
            channel.outbox.wake()
    return sent


async def start_scheduler(runtime: Runtime, channels: Sequence[Any]) -> AsyncIOScheduler:
    settings = runtime.config.settings
    at = runtime.config.digest_time
    scheduler = AsyncIOScheduler(timezone=settings.timezone)
    scheduler.add_job(
        run_digest_now, CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.timezone),
        args=(runtime, channels), id="daily_digest", replace_existing=True,
        misfire_grace_time=3600, coalesce=True, max_instances=1,
    )
    scheduler.start()
    now = runtime.services.clock()
    if due_today(settings, at, now):
        # The bot was down (or started late) at today's slot: catch up now; the claim in
        # digest_runs makes this a no-op if today's digest already went out.
        await run_digest_now(runtime, channels)
    return scheduler


def next_run(scheduler: AsyncIOScheduler) -> dt.datetime | None:
    job = scheduler.get_job("daily_digest")
    return job.next_run_time if job else None
