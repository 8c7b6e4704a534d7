"""Sending queued messages (answers, alerts, announcements) through one channel.

Rows are written by flows in the same transaction as the change that causes them, so a message
is never lost; a row is marked sent right after the platform accepts it. A crash in the few
milliseconds between the two re-sends that one message on restart: at-least-once, by choice,
because a missed answer is worse than a repeated one. A long text goes in pieces
(`send_pieces`): when a later piece is refused, only the pieces not yet sent go next time. A
platform that accepts a message but answers after the read timeout looks like a failure, and
that piece is sent again (the same at-least-once choice).

Error tree:
    DeliveryError
      ├─ RetryLater(seconds, rest)   429, network trouble: try again later (only `rest`)
      ├─ PartlySent(rest)            another error after some pieces went out: only `rest` again
      └─ Undeliverable         blocked the bot, chat gone: stop trying
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from handlers.domain import Settings
from handlers.escalation import hotline_lines
from handlers.locale import Locale
from storage import attachments
from storage import queries as q
from storage.clock import stamp
from storage.db import Database

__all__ = ["AlertFallback", "DeliveryError", "OutboxWorker", "RetryLater", "Undeliverable",
           "alert_fallback"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How long a sender holds a row; renewed before each send. Short, so that rows a killed process
# held (an alert among them) go out again within a minute of the restart.
LEASE = dt.timedelta(seconds=60)
REASON_CHARS = 120
# Platform answers worth keeping, as fixed words (Telegram and Zalo descriptions).
_KNOWN_REASONS = ("blocked", "chat not found", "deactivated", "kicked", "forbidden",
                  "unauthorized", "invalid token", "too many requests", "429", "network",
                  "timeout", "timed out")


class DeliveryError(Exception):
    pass


class RetryLater(DeliveryError):
    """Try again in `seconds`. `rest`: what is still to send when the first pieces of a long
    message went out (only that is sent next time, so she never reads a piece twice)."""

    def __init__(self, seconds: float, reason: str = "", rest: str | None = None) -> None:
        super().__init__(reason or f"retry in {seconds}s")
        self.seconds = seconds
        self.rest = rest


class PartlySent(DeliveryError):
    """An unexpected error after the first pieces of a long message went out: retried like any
    unexpected error (and given up after as many tries), but only `rest` is sent again."""

    def __init__(self, rest: str, reason: str) -> None:
        super().__init__(reason)
        self.rest = rest


async def send_pieces(pieces: Sequence[str], send_one: Callable[[str], Awaitable[None]]) -> None:
    """A long message, piece by piece. A retry after some pieces went out carries the rest
    (red-team pass 4, F8 and pass 5, F7: a refused second piece made the whole message go
    again)."""
    for n, piece in enumerate(pieces):
        try:
            await send_one(piece)
        except RetryLater as exc:
            if n:
                exc.rest = "\n\n".join(pieces[n:])
            raise
        except Undeliverable:
            raise
        except Exception as exc:
            if not n:
                raise
            raise PartlySent("\n\n".join(pieces[n:]), type(exc).__name__) from exc


class Undeliverable(DeliveryError):
    pass


@dataclass(frozen=True)
class AlertFallback:
    """Where a danger alert goes when the staff chat refuses it for good: the staff members'
    own chats on this channel; with none, `tell_her` (the hotlines and that staff were not
    reached) goes to the member, so she is not left believing staff were told."""

    staff_chats: tuple[str, ...] = ()
    tell_her: str = ""


def alert_fallback(settings: Settings, locale: Locale, channel: str) -> AlertFallback:
    """The configured staff members of `channel` (their private chat is their id) and her
    correction, with the hotlines."""
    return AlertFallback(tuple(sorted(settings.staff_ids.get(channel, ()))), locale.t(
        "danger.staff_unreachable", hotlines=hotline_lines(settings)))


# Alerts about a member in danger: rerouted, never just marked failed.
ALERT_PURPOSES = frozenset({"danger", q.REROUTED})

Send = Callable[[str, str], Awaitable[None]]
SendPhoto = Callable[[str, bytes], Awaitable[None]]
# (chat id, file name, bytes, caption): a document with its caption, instead of a text.
SendDocument = Callable[[str, str, bytes, str], Awaitable[None]]


class OutboxWorker:
    """Drains one channel's outbox. `wake()` makes it look now instead of at the next tick."""

    def __init__(self, db: Database, channel: str, send: Send, *,
                 send_photo: SendPhoto | None = None,
                 send_document: SendDocument | None = None, concurrency: int = 8,
                 idle_seconds: float = 1.0, per_chat_seconds: float = 1.0,
                 chat_id: str | None = None, fallback: AlertFallback | None = None) -> None:
        self.db = db
        self.channel = channel
        self.send = send
        self.send_photo = send_photo
        self.send_document = send_document
        self.concurrency = concurrency
        self.idle_seconds = idle_seconds
        self.per_chat_seconds = per_chat_seconds
        self.chat_id = chat_id  # only this chat's rows (a terminal session sends to its user)
        self.fallback = fallback or AlertFallback()
        self._wake = asyncio.Event()
        self.sent = 0
        # Who holds a lease on a row: unique per worker, so a second sender never sends it too.
        self.owner = f"{channel}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        # Sent, but the database refused to record it (disk full): never sent again by this
        # worker, and recorded as soon as the database takes it.
        self._unmarked: set[int] = set()

    def wake(self) -> None:
        self._wake.set()

    async def release_dead_leases(self) -> int:
        """Rows leased by a sender whose process is gone (killed mid-batch) go out now, not when
        the lease runs out: an alert to staff among them must not wait."""
        released = 0
        async with self.db.transaction() as conn:
            for owner in await q.outbox_lease_owners(conn, self.channel, now=self.db.clock()):
                if owner != self.owner and not _alive(owner):
                    released += await q.release_outbox_leases(conn, self.channel, owner)
        if released:
            log.info("outbox %s: %d row(s) of a dead sender released", self.channel, released)
        return released

    async def run(self) -> None:
        with contextlib.suppress(Exception):  # a failing database is retried by the loop
            await self.release_dead_leases()
        while True:
            try:
                busy = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox %s: drain failed", self.channel)
                busy = False
            if not busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_seconds)

    async def drain_once(self, batch: int = 200) -> bool:
        """Send one batch; True when there may be more waiting."""
        await self._record_unmarked()
        async with self.db.short_transaction() as conn:
            pending = await q.claim_outbox(conn, self.channel, self.owner, batch,
                                           now=self.db.clock(), lease=LEASE,
                                           chat_id=self.chat_id)
        pending = [m for m in pending if m.id not in self._unmarked]
        if not pending:
            return False
        # One sender per chat at a time keeps each woman's messages in order; the platform
        # rate limiter paces the whole.
        by_chat: dict[str, list[q.OutboxMessage]] = {}
        for message in pending:
            by_chat.setdefault(message.chat_id, []).append(message)
        gate = asyncio.Semaphore(self.concurrency)

        async def chat_worker(messages: list[q.OutboxMessage]) -> None:
            async with gate:
                for i, message in enumerate(messages):
                    if i:  # about one message a second to one person (Telegram's limit)
                        await asyncio.sleep(self.per_chat_seconds)
                    if not await self._deliver(message):
                        break

        await asyncio.gather(*(chat_worker(m) for m in by_chat.values()))
        return len(pending) == batch

    async def _deliver(self, message: q.OutboxMessage) -> bool:
        document = None
        async with self.db.short_transaction() as conn:
            if not await q.renew_outbox_lease(conn, message.id, self.owner,
                                              now=self.db.clock(), lease=LEASE):
                log.warning("outbox %s #%s: lease lost before sending; left to its holder",
                            self.channel, message.id)
                return False
            if message.purpose == attachments.PDF_PURPOSE and self.send_document is not None:
                document = await attachments.outbox_document(conn, message.id)
        try:
            if message.image and self.send_photo is not None:
                await self.send_photo(message.chat_id, message.image)
            if document is not None and self.send_document is not None:
                await self.send_document(message.chat_id, *document, message.text)
            else:
                await self.send(message.chat_id, message.text)
        except RetryLater as exc:
            await self._retry(message, self._reason(exc), exc.seconds, give_up=False,
                              rest=exc.rest)
            return False
        except Undeliverable as exc:
            reason = self._reason(exc)
            log.warning("outbox %s #%s undeliverable: %s", self.channel, message.id, reason)
            await self._retry(message, reason, 0, give_up=True)
            if message.purpose in ALERT_PURPOSES:
                await self._reroute(message)
            return False
        except Exception as exc:  # an unexpected error must not stop the other messages
            log.exception("outbox %s #%s failed", self.channel, message.id)
            give_up = message.attempts + 1 >= MAX_ATTEMPTS
            await self._retry(message, self._reason(exc), 2 ** min(message.attempts, 8),
                              give_up, rest=exc.rest if isinstance(exc, PartlySent) else None)
            return False
        try:
            async with self.db.short_transaction() as conn:
                kept = await q.mark_outbox_sent(conn, message.id, self.owner,
                                                now=self.db.clock())
        except Exception as exc:
            log.warning("outbox %s #%s sent but not recorded (%s); kept in memory",
                        self.channel, message.id, type(exc).__name__)
            self._unmarked.add(message.id)
            self.sent += 1
            return True
        if not kept:  # the lease ran out while sending: never expected, worth knowing
            log.warning("outbox %s #%s: lease lost before it was marked sent",
                        self.channel, message.id)
        self.sent += 1
        return True

    async def _reroute(self, message: q.OutboxMessage) -> None:
        chats = tuple(c for c in self.fallback.staff_chats if c != message.chat_id)
        async with self.db.transaction() as conn:
            copies, told = await q.reroute_alert(conn, message.id, chats,
                                                 self.fallback.tell_her, now=self.db.clock())
        # ERROR: someone must put the bot back in the staff group (`python -m bot doctor`).
        log.error("outbox %s #%s: danger alert refused by the staff chat; %d copies to staff "
                  "members, member told staff were not reached: %s", self.channel, message.id,
                  copies, "yes" if told else "no")
        self.wake()

    async def _record_unmarked(self) -> None:
        for message_id in list(self._unmarked):
            try:
                async with self.db.transaction() as conn:
                    await q.mark_outbox_sent(conn, message_id, self.owner, now=self.db.clock())
            except Exception:
                return  # still refused: try again next round
            self._unmarked.discard(message_id)

    def _reason(self, exc: BaseException) -> str:
        """What goes in outbox.last_error: the kind of failure in fixed words, never the
        exception's message, which may quote the text sent, a URL or the token (the traceback,
        secrets redacted, is in the log)."""
        said = str(exc).lower()
        known = [word for word in _KNOWN_REASONS if word in said]
        cause = exc.__cause__
        parts = [type(exc).__name__]
        if cause is not None:
            parts.append(type(cause).__name__)
        if isinstance(exc, RetryLater):
            parts.append(f"retry in {exc.seconds:g}s")
        return " · ".join(parts + known)[:REASON_CHARS]

    async def _retry(self, message: q.OutboxMessage, error: str, seconds: float,
                     give_up: bool, rest: str | None = None) -> None:
        now = self.db.clock()
        when = now + dt.timedelta(seconds=seconds)
        async with self.db.transaction() as conn:
            await q.mark_outbox_retry(conn, message.id, error,
                                      stamp(when), give_up, now=now, rest=rest)


def _alive(owner: str) -> bool:
    """Is the process named in a lease owner ("channel:pid:token") on this machine alive?"""
    try:
        pid = int(owner.split(":")[1])
    except (IndexError, ValueError):
        return True  # not ours to judge: its lease runs out on its own
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
