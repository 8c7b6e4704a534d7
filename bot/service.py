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

from .backups import backup_before_upgrade
from .config import Config
from .runtime import open_runtime

__all__ = ["alert_gap", "run_service"]

log = logging.getLogger(__name__)


def _network() -> type[Exception]:
    """The network errors a channel meets at start-up: logged in one line, no traceback."""
    from telegram.error import NetworkError

    return NetworkError


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
        try:
            backup_before_upgrade(config, Path(database or config.database))
        except Exception as exc:  # no rollback copy: do not change the database
            print(f"Không sao lưu được cơ sở dữ liệu trước khi nâng cấp ({type(exc).__name__}: "
                  f"{exc}); bot không chạy migration khi chưa có bản sao lưu. Kiểm tra "
                  f"`[backup] dir` ({config.backup_dir}) và chỗ trống trên đĩa.\n"
                  "Could not back up the database before applying new migrations: nothing "
                  "was changed. Check [backup] dir and the disk space.", file=sys.stderr)
            return 2
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
        except Exception as exc:
            log.error("channel %s failed to start (%s); the others keep running", name,
                      type(exc).__name__, exc_info=not isinstance(exc, OSError | _network()))
            continue
        log.info("channel %s started", name)
        started.append((name, channel))
    scheduler = None
    if started:
        from .scheduler import start_scheduler

        scheduler = await start_scheduler(runtime, [c for _, c in started])
    if not started:
        print("Không kênh nào khởi động được (mạng tới Telegram/Zalo? token? xem nhật ký và "
              "`python -m bot doctor`); dịch vụ (systemd, docker) sẽ chạy lại sau ít giây.\n"
              "No channel could start (network? token? see the log and `python -m bot doctor`);"
              " systemd or Docker restarts the bot.", file=sys.stderr)
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
