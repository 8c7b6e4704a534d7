"""Danger alerts that could not be stored: kept outside the database until they land.

When the database refuses a write (disk full, I/O error), a woman in danger still gets the
hotlines, and the staff alert about her goes here: into memory at once, and into a file of its
own beside the database when the disk lets us (fsync'd, so a restart finds it). A few slot
files are reserved at start-up (`reserve`): written into, they need no new disk space, so an
alert still reaches the disk when the disk is full and survives a kill -9. The service
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
SLOTS = 16  # alerts that fit on a full disk at once
SLOT_BYTES = 16_384


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
        self._in_slot: dict[str, Path] = {}  # alert key → the reserved slot holding it

    def reserve(self, slots: int = SLOTS) -> None:
        """Set aside disk space now, while there is some, for alerts on a full disk later."""
        if self.folder is None:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(mode=0o700, exist_ok=True)
            for i in range(slots):
                path = self.folder / f"slot-{i:02d}.bin"
                if not path.exists() or path.stat().st_size < SLOT_BYTES:
                    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                    try:
                        os.write(fd, b"\0" * SLOT_BYTES)  # real blocks, not a sparse file
                    finally:
                        os.close(fd)

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
                self._remember(path.read_bytes(), None)
        for path in self._slots():
            with contextlib.suppress(OSError, ValueError, TypeError):
                content = path.read_bytes().split(b"\0", 1)[0]
                if content:
                    self._remember(content, path)
        return list(self._pending.values())

    def _remember(self, content: bytes, slot: Path | None) -> None:
        fields = json.loads(content.decode("utf-8"))
        about = fields.pop("about", None)
        alert = Alert(**fields, about=tuple(about) if about else None)
        self._pending.setdefault(alert.key, alert)
        if slot is not None:
            self._in_slot[alert.key] = slot

    def done(self, alert: Alert) -> None:
        self._pending.pop(alert.key, None)
        slot = self._in_slot.pop(alert.key, None)
        if slot is not None:
            with contextlib.suppress(OSError):
                _overwrite(slot, b"\0" * SLOT_BYTES)  # emptied in place: the space stays ours
        elif self.folder is not None:
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
        except OSError as exc:  # the disk is full too: a reserved slot, else memory only
            with contextlib.suppress(OSError):
                (self.folder / _file_name(alert.key)).unlink()
            if not self._write_slot(alert):
                log.warning("alert kept in memory only (%s)", type(exc).__name__)

    def _write_slot(self, alert: Alert) -> bool:
        content = json.dumps(asdict(alert), ensure_ascii=False).encode("utf-8")
        if len(content) >= SLOT_BYTES:
            return False
        taken = set(self._in_slot.values())
        for slot in self._slots():
            if slot in taken:
                continue
            try:
                if slot.read_bytes()[:1] not in (b"", b"\0"):
                    continue  # holds an alert a dead process left
                _overwrite(slot, content + b"\0")
            except OSError:
                continue
            self._in_slot[alert.key] = slot
            return True
        return False

    def _slots(self) -> list[Path]:
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("slot-*.bin"))

    def _files(self) -> list[Path]:
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("spool-*.json"))


def _overwrite(path: Path, content: bytes) -> None:
    """Write over the start of an existing file and fsync: no new blocks are needed."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, content, 0)
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_name(key: str) -> str:
    return key.replace(":", "-") + ".json"
