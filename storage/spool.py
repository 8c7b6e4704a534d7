"""Danger alerts that could not be stored: kept outside the database until they land.

When the database refuses a write (disk full, I/O error), a woman in danger still gets the
hotlines, and the staff alert about her goes here: into memory at once, and into a file of its
own beside the database when the disk lets us (fsync'd, so a restart finds it). The service
drains the spool every few seconds and at start-up: into the outbox when the database works
again, or straight to the staff chat through the channel's sender when it does not. A delivered
alert is forgotten (its file removed), so each is delivered once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Alert", "AlertSpool"]

log = logging.getLogger(__name__)

Send = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class Alert:
    key: str  # unique; also the outbox dedupe key, so a spooled alert is queued once
    channel: str
    chat_id: str
    text: str
    about: tuple[str, str] | None = None  # (channel, user id) of the woman it speaks of


class AlertSpool:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder  # None: memory only (an in-memory database)
        self._pending: dict[str, Alert] = {}

    @classmethod
    def beside(cls, database: Path | str) -> AlertSpool:
        if str(database) == ":memory:":
            return cls(None)
        return cls(Path(f"{database}.alerts"))

    def put(self, channel: str, chat_id: str, text: str,
            about: tuple[str, str] | None = None) -> Alert:
        alert = Alert(f"spool:{uuid.uuid4().hex}", channel, chat_id, text, about)
        self._pending[alert.key] = alert
        self._write(alert)
        return alert

    def pending(self) -> list[Alert]:
        """Alerts not yet delivered: those in memory and those a dead process left on disk."""
        for path in self._files():
            with contextlib.suppress(OSError, ValueError, TypeError):
                fields = json.loads(path.read_text(encoding="utf-8"))
                about = fields.pop("about", None)
                alert = Alert(**fields, about=tuple(about) if about else None)
                self._pending.setdefault(alert.key, alert)
        return list(self._pending.values())

    def done(self, alert: Alert) -> None:
        self._pending.pop(alert.key, None)
        if self.folder is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / _file_name(alert.key)).unlink()

    async def drain(self, enqueue: Callable[[Alert], Awaitable[None]],
                    senders: Mapping[str, Send]) -> int:
        """Deliver what is pending: into the outbox if it takes it, else sent directly."""
        delivered = 0
        for alert in self.pending():
            try:
                await enqueue(alert)
            except Exception as exc:  # the database still refuses: send it ourselves
                send = senders.get(alert.channel)
                if send is None:
                    continue
                try:
                    await send(alert.chat_id, alert.text)
                except Exception as send_exc:
                    log.warning("spooled alert not delivered yet (%s; %s)",
                                type(exc).__name__, type(send_exc).__name__)
                    continue
            self.done(alert)
            delivered += 1
        return delivered

    def _write(self, alert: Alert) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            path = self.folder / _file_name(alert.key)
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            try:
                os.write(fd, json.dumps(asdict(alert), ensure_ascii=False).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:  # the disk is full too: memory keeps it until it lands
            log.warning("alert kept in memory only (%s)", type(exc).__name__)
            with contextlib.suppress(OSError):
                (self.folder / _file_name(alert.key)).unlink()

    def _files(self) -> list[Path]:
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("spool-*.json"))


def _file_name(key: str) -> str:
    return key.replace(":", "-") + ".json"
