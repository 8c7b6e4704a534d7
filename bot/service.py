"""`python -m bot run`: every channel whose token is set, in one event loop.

One channel failing to start or crashing is logged and does not take the others down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from storage.lock import instance_lock

from .config import Config
from .runtime import open_runtime

__all__ = ["alert_gap", "run_service"]

log = logging.getLogger(__name__)


def alert_gap(config: Config, channels: list[str]) -> str | None:
    """Why `run` must not start, or None: women can write on `channels`, but no staff chat on
    a running channel would receive a danger alert (a chat on a channel that is not running
    never gets its outbox sent)."""
    if not channels or any(config.settings.staff_chat(ch) for ch in channels):
        return None
    if config.allow_no_staff_alerts:
        log.warning("no staff chat on %s: danger alerts go nowhere "
                    "([safety] allow_no_staff_alerts = true)", ", ".join(channels))
        return None
    keys = " hoặc ".join(f"`[{ch}] staff_chat_id`" for ch in channels)
    return (
        f"{config.path}: chưa có nhóm cán bộ nào nhận tin khẩn. Khi một phụ nữ báo đang gặp "
        f"nguy hiểm, không ai được báo. Đặt {keys} (id nhóm cán bộ, ví dụ -1001234567890) "
        "rồi chạy lại. Nếu thật sự muốn chạy không có nhóm cán bộ, ghi rõ trong config:\n"
        "  [safety]\n  allow_no_staff_alerts = true\n"
        f"No staff chat to alert about danger: set {keys.replace(' hoặc ', ' or ')}, "
        "or `[safety] allow_no_staff_alerts = true` on purpose."
    )


async def run_service(config: Config, database: Path | None = None) -> int:
    """Run until SIGINT/SIGTERM. Raises AlreadyRunning if a bot already runs on the database.

    Refuses (exit 2, naming the key) when no running channel has a staff chat for danger alerts.
    """
    running = [name for name, token in (("telegram", config.telegram_token),
                                         ("zalo", config.zalo_token)) if token]
    gap = alert_gap(config, running)
    if gap:
        print(gap, file=sys.stderr)
        return 2
    with instance_lock(database or config.database):
        return await _serve(config, database)


async def _serve(config: Config, database: Path | None) -> int:
    runtime = await open_runtime(config, database)
    runtime.spool.reserve()  # while the disk has room: alerts must reach it when it is full
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
    console = None
    if config.web.enabled:  # [web] enabled = true: the console on the same runtime
        from .web.server import serve_console

        console = asyncio.create_task(serve_console(runtime, stop=stop))
    try:
        if started:
            await stop.wait()
    finally:
        stop.set()
        if console is not None:
            try:
                await console
            except Exception:
                log.exception("the console did not stop cleanly")
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for name, channel in started:
            try:
                await channel.stop()
            except Exception:
                log.exception("channel %s did not stop cleanly", name)
        await runtime.close()
    return 0 if started else 1
