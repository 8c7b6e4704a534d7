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
from .channels.base import Channel, StartFailed
from .channels.registry import CHANNELS
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
    running = enabled_channels(config)
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


def enabled_channels(config: Config) -> list[str]:
    """The channels `run` starts: those whose token is set."""
    return [spec.name for spec in CHANNELS
            if spec.open is not None and config.channel(spec.name).enabled]


async def _serve(config: Config, database: Path | None) -> int:
    runtime = await open_runtime(config, database)
    runtime.spool.reserve()  # while the disk has room: alerts must reach it when it is full
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    started: list[Channel] = []
    failures: list[str] = []
    scheduler = None
    console: asyncio.Task[None] | None = None
    try:
        for spec in CHANNELS:
            if spec.open is None or not config.channel(spec.name).enabled:
                continue
            channel = spec.open(runtime)
            try:
                await channel.start()
            except Exception as exc:
                failures.append(f"{spec.name}: {_why(exc)}")
                if not _expected(exc):  # a bug: its traceback is worth having
                    log.error("channel %s failed to start", spec.name, exc_info=exc)
                continue
            log.info("channel %s started", spec.name)
            started.append(channel)
        if not started:  # one message, on stderr, and a distinct exit code
            print(NO_CHANNEL.format(reasons="\n".join(f"  - {f}" for f in failures)),
                  file=sys.stderr)
            return NO_CHANNEL_EXIT
        for failure in failures:
            log.warning("channel %s did not start; the others keep running", failure)
        from .scheduler import start_scheduler

        scheduler = await start_scheduler(runtime, started)
        if config.web.enabled:  # [web] enabled = true: the console on the same runtime
            from .web.server import serve_console

            console = asyncio.create_task(serve_console(runtime, stop=stop))
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
        for channel in started:
            try:
                await channel.stop()
            except Exception:
                log.exception("channel %s did not stop cleanly", channel.name)
        await runtime.close()
    return 0


NO_CHANNEL_EXIT = 4
NO_CHANNEL = (
    "Không kênh nào khởi động được, bot dừng lại (không có tin nhắn nào bị nhận rồi bỏ dở):\n"
    "{reasons}\n"
    "Kiểm tra mạng tới máy chủ Telegram/Zalo và token, rồi chạy lại.\n"
    "No channel could start; check the network to the platform and the token, then run again."
)


def _expected(exc: BaseException) -> bool:
    """Failures an operator fixes (network, token, config, a port in use): one line, no
    traceback."""
    from .config import ConfigError

    return isinstance(exc, StartFailed | ConfigError | OSError)


def _why(exc: BaseException) -> str:
    from .logs import redact

    text = redact(str(exc))[:300]
    if isinstance(exc, StartFailed):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
