"""The SQLite database: WAL, foreign keys, numbered migrations, two connections.

All access goes through `Database.transaction()` or `Database.opened_transaction()`, which
serialise units of work with one asyncio lock: one connection shared by concurrent coroutines
would otherwise interleave their statements inside one another's transactions, and two
connections writing at once would wait on each other's write lock.

`transaction()` runs on aiosqlite's connection, in its thread: migrations, reports, exports,
the outbox, anything that may read many rows. `opened_transaction()`, the transaction of every
incoming message, runs on a plain sqlite3 connection in the event loop's thread
(storage.inline): a few indexed single-row statements, where the trips to aiosqlite's thread
cost far more than the statements (bench/throughput.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import aiosqlite

from .clock import Clock, stamp, system_clock
from .inline import InlineConnection

__all__ = ["MIGRATIONS_DIR", "Database", "DatabaseGone", "Opened"]

log = logging.getLogger(__name__)

T = TypeVar("T")
InThread = Callable[[sqlite3.Connection], Any]
BUSY_SECONDS = 5.0  # how long a write waits for another process's write lock (busy_timeout)
# The message connection does not checkpoint on its own (that would fsync in the event loop's
# thread); aiosqlite's thread does it, passively, after this many of its commits.
CHECKPOINT_EVERY = 200


@dataclass
class Opened(Generic[T]):
    """A transaction opened by `Database.opened_transaction`: `first` is what the opening
    statements returned; `last`, if set, runs in the database thread just before COMMIT, in the
    same trip."""

    conn: aiosqlite.Connection
    first: T
    last: InThread | None = None


class DatabaseGone(OSError):
    """The database file was deleted or replaced while the bot had it open."""

    def __init__(self, path: str) -> None:
        super().__init__(f"the database file {path} was deleted or replaced while in use")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str, clock: Clock,
                 messages: sqlite3.Connection) -> None:
        self.conn = conn
        self.path = path
        self.clock = clock  # the runtime's clock: every row is stamped with the time flows see
        self._lock = asyncio.Lock()
        self._file = _identity(path)
        # The connection of `opened_transaction`, in this (the event loop's) thread.
        self._messages = messages
        self._commits = 0  # on _messages since the last checkpoint
        self._queued: set[str] = set()  # channels a message queued an outbox row for

    @classmethod
    async def open(cls, path: Path | str, clock: Clock = system_clock) -> Database:
        """Open (creating if needed, readable by its owner only) and migrate."""
        path = str(path)
        if path != ":memory:":
            _create_private(Path(path))
        location = _location(path)
        conn = await aiosqlite.connect(location, isolation_level=None, uri=True)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode = WAL")
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
        await conn.execute("PRAGMA busy_timeout = 5000")
        db = cls(conn, path, clock, _connect_messages(location))
        await db.migrate()
        db._watch_outbox()
        return db

    async def close(self) -> None:
        self._messages.close()
        await self.conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception, COMMIT's own included.

        A full disk fails at COMMIT (the WAL cannot grow): without the rollback there the
        connection would stay inside the dead transaction and every later BEGIN would fail.
        """
        async with self._lock:
            if self._file is not None and _identity(self.path) != self._file:
                # Deleted or replaced under us: SQLite would go on writing to a file nobody can
                # open again, and she would get a receipt for a question that is gone.
                raise DatabaseGone(self.path)
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                await self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        await self.conn.execute("ROLLBACK")
                raise

    @contextlib.asynccontextmanager
    async def opened_transaction(self, first: Callable[[sqlite3.Connection], T]
                                 ) -> AsyncIterator[Opened[T]]:
        """`transaction()` for every incoming message, on the message connection, in this
        thread: BEGIN IMMEDIATE and `first`, the flow's statements, `Opened.last` and COMMIT.

        Same transaction, same rollback on any exception (COMMIT's own included), committed
        before this returns: what was acknowledged is in the WAL. `first` and `last` are
        plain functions on the sqlite3 connection (storage.message). `Opened.conn` takes the
        flow's queries with aiosqlite's methods (storage.inline).
        """
        async with self._lock:
            if self._file is not None and _identity(self.path) != self._file:
                raise DatabaseGone(self.path)
            raw = self._messages
            await _begin_immediate(raw)
            try:
                # The queries are typed for aiosqlite; InlineConnection has the methods of it
                # they call, with the same meaning (tests/storage/test_inline.py).
                opened = Opened(cast(aiosqlite.Connection, InlineConnection(raw)), first(raw))
                yield opened
                if opened.last is not None:
                    opened.last(raw)
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        raw.execute("ROLLBACK")
                raise
            self._commits += 1
        if self._commits >= CHECKPOINT_EVERY:
            await self._checkpoint_passive()

    @contextlib.asynccontextmanager
    async def short_transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """`transaction()` on the message connection, in this thread, for a few indexed
        statements that run all the time beside the messages (the outbox's claim and its
        "sent" marks): on aiosqlite's thread each of their trips held the lock every message
        waits for (bench/throughput.py). Not for anything that may read many rows."""
        async with self.opened_transaction(_nothing) as opened:
            yield opened.conn

    def queued_for(self, channel: str) -> bool:
        """Whether a message's transaction queued an outbox row for `channel` since the last
        time this was asked: the channel wakes its outbox worker only then. Woken after every
        message, the worker ran a write transaction on aiosqlite's thread per message, which
        every other message waited for (bench/throughput.py); the worker's own tick still
        finds everything else."""
        if channel not in self._queued:
            return False
        self._queued.discard(channel)
        return True

    def _watch_outbox(self) -> None:
        # A temporary trigger lives on this connection only; it fires for rows really
        # inserted (not for INSERT OR IGNORE's ignored ones), a rollback at worst wakes the
        # worker for nothing.
        self._messages.create_function("outbox_row_queued", 1, self._queued.add)
        self._messages.execute(
            "CREATE TEMP TRIGGER IF NOT EXISTS outbox_row_queued AFTER INSERT ON main.outbox "
            "BEGIN SELECT outbox_row_queued(NEW.channel); END")

    async def _checkpoint_passive(self) -> None:
        """Copy the WAL back into the database file, in aiosqlite's thread (it fsyncs), without
        holding anyone up: PASSIVE waits for no reader or writer."""
        self._commits = 0
        try:
            await self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # the next one will try again; the WAL keeps it all
            log.warning("WAL checkpoint failed (%s)", getattr(exc, "sqlite_errorname", "-"))

    async def migrate(self) -> list[str]:
        """Apply every migration file not yet recorded, each in its own transaction."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
        applied = {row[0] async for row in await self.conn.execute(
            "SELECT name FROM schema_migrations")}
        done = []
        for file in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
            if file.stem in applied:
                continue
            async with self.transaction() as conn:
                for statement in _statements(file.read_text(encoding="utf-8")):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (file.stem, stamp(self.clock())),
                )
            done.append(file.stem)
        return done

    async def checkpoint(self) -> None:
        """Write the WAL back into the database file and empty it, so pages holding erased data
        no longer survive in the -wal file. Run after a deletion has committed."""
        async with self._lock:
            await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def backup(self, target: Path) -> None:
        """A consistent online copy through SQLite's backup API."""
        _create_private(target)
        async with self._lock:
            dest = await aiosqlite.connect(str(target))
            try:
                await self.conn.backup(dest)
            finally:
                await dest.close()


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    out, buf = [], []
    for line in script.splitlines():
        buf.append(line)
        candidate = "\n".join(buf).strip()
        if candidate.endswith(";") and sqlite3.complete_statement(candidate):
            out.append(candidate)
            buf = []
    rest = "\n".join(buf).strip()
    if rest and not all(ln.strip().startswith("--") or not ln.strip() for ln in buf):
        out.append(rest)
    return out


# Every connection: the same file durability and the same privacy (pragmas are per connection).
_PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    # Deleted or overwritten rows are zeroed in the file, not just marked free: after
    # /xoa_du_lieu her words must not be readable in the bytes (some builds default to it,
    # others do not: never rely on the build).
    "PRAGMA secure_delete = ON",
)


def _nothing(raw: sqlite3.Connection) -> None:
    return None


def _location(path: str) -> str:
    """What both connections open: the file, or one in-memory database they share."""
    if path == ":memory:":
        return f"file:doithoai-{id(object())}-{os.getpid()}?mode=memory&cache=shared"
    return Path(path).resolve().as_uri()


def _connect_messages(location: str) -> sqlite3.Connection:
    """The message connection: never waits in SQLite for a lock (it would block the event
    loop; `_begin_immediate` waits with asyncio) and never checkpoints on its own."""
    raw = sqlite3.connect(location, isolation_level=None, uri=True)
    raw.row_factory = sqlite3.Row
    for pragma in (*_PRAGMAS, "PRAGMA busy_timeout = 0", "PRAGMA wal_autocheckpoint = 0"):
        raw.execute(pragma)
    return raw


async def _begin_immediate(raw: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting up to BUSY_SECONDS while another process holds the write lock
    (a CLI command, a restore check): asleep in asyncio, so other chats' replies still go."""
    # Measured on the clock, not summed from the pauses: a loaded loop oversleeps, and the
    # webhook's answer must come within its settle limit (busy wait + her "not stored" reply).
    give_up, pause = time.monotonic() + BUSY_SECONDS, 0.001
    while True:
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            left = give_up - time.monotonic()
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY or left <= 0:
                raise
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite opens it: members' data is personal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the database file, None in memory or if it is missing."""
    if path == ":memory:":
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (-1, -1)
    return (st.st_dev, st.st_ino)
