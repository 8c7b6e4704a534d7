"""The SQLite database: one aiosqlite connection, WAL, foreign keys, numbered migrations.

All access goes through `Database.transaction()`, which serialises units of work with an
asyncio lock. One connection shared by concurrent coroutines would otherwise interleave their
statements inside one another's transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite

from .clock import Clock, stamp, system_clock

__all__ = ["MIGRATIONS_DIR", "Database", "DatabaseGone", "Opened"]

T = TypeVar("T")
InThread = Callable[[sqlite3.Connection], Any]


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
    def __init__(self, conn: aiosqlite.Connection, path: str, clock: Clock = system_clock) -> None:
        self.conn = conn
        self.path = path
        self.clock = clock  # the runtime's clock: every row is stamped with the time flows see
        self._lock = asyncio.Lock()
        self._file = _identity(path)

    @classmethod
    async def open(cls, path: Path | str, clock: Clock = system_clock) -> Database:
        """Open (creating if needed, readable by its owner only) and migrate."""
        path = str(path)
        if path != ":memory:":
            _create_private(Path(path))
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA busy_timeout = 5000")
        # Deleted or overwritten rows are zeroed in the file, not just marked free: after
        # /xoa_du_lieu her words must not be readable in the bytes (some builds default to it,
        # others do not: never rely on the build).
        await conn.execute("PRAGMA secure_delete = ON")
        db = cls(conn, path, clock)
        await db.migrate()
        return db

    async def close(self) -> None:
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
        """`transaction()` for the statements every message runs: BEGIN IMMEDIATE and `first`
        in one trip to the database thread, `Opened.last` and COMMIT in another.

        Each `await conn.execute` is a trip (a queue put, a thread switch, a future); a message
        used six of them on this bookkeeping alone (bench/throughput.py). Same transaction, same
        rollback on any exception, COMMIT's own included. `first` and `last` are plain
        functions on the sqlite3 connection, run in aiosqlite's thread.
        """
        async with self._lock:
            if self._file is not None and _identity(self.path) != self._file:
                raise DatabaseGone(self.path)

            def begin(raw: sqlite3.Connection) -> T:
                raw.execute("BEGIN IMMEDIATE")
                return first(raw)

            try:
                opened = Opened(self.conn, await self._in_thread(begin))
                yield opened
                last = opened.last

                def commit(raw: sqlite3.Connection) -> None:
                    if last is not None:
                        last(raw)
                    raw.execute("COMMIT")

                await self._in_thread(commit)
            except BaseException:
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        await self.conn.execute("ROLLBACK")
                raise

    async def _in_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite runs every call as a function in its thread; this hands it ours, on the
        # same connection and queue as every `execute`, so the order of statements holds.
        conn = self.conn
        return await conn._execute(lambda: fn(conn._conn))

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
