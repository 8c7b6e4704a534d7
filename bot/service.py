"""`python -m bot run`: every channel whose token is set, in one event loop.

One channel failing to start or crashing is logged and does not take the others down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from storage.lock import instance_lock

from .config import Config
from .runtime import open_runtime

__all__ = ["run_service"]

log = logging.getLogger(__name__)


async def run_service(config: Config, database: Path | None = None) -> int:
    """Run until SIGINT/SIGTERM. Raises AlreadyRunning if a bot already runs on the database."""
    with instance_lock(database or config.database):
        return await _serve(config, database)


async def _serve(config: Config, database: Path | None) -> int:
    runtime = await open_runtime(config, database)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    channels = []
    if config.telegram_token:
        from .channels.telegram import TelegramChannel

        channels.append(("telegram", TelegramChannel(runtime)))
    if config.zalo_token:
        from .channels.zalo import ZaloChannel

        channels.append(("zalo", ZaloChannel(runtime)))
    started = []
    for name, channel in channels:
        try:
            await channel.start()
        except Exception:
            log.exception("channel %s failed to start; the others keep running", name)
            continue
        log.info("channel %s started", name)
        started.append((name, channel))
    scheduler = None
    if started:
        from .scheduler import start_scheduler

        scheduler = await start_scheduler(runtime, [c for _, c in started])
    try:
        if started:
            await stop.wait()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for name, channel in started:
            try:
                await channel.stop()
            except Exception:
                log.exception("channel %s did not stop cleanly", name)
        await runtime.close()
    return 0 if started else 1
