"""The database connection a message's transaction runs on: sqlite3, in the event loop's own
thread, behind the same async methods as aiosqlite's connection.

Why not aiosqlite's thread: every statement there is a trip (a queue put, a wake-up of its
thread, the GIL handed over and back, a future). A message made 4–5 of them, and under load each
cost more than the whole of PTB's echo bot per update (bench/throughput.py, cProfile: most of the
dispatcher's time in `SimpleQueue.put_nowait`). A message's statements are a handful of indexed
single-row reads and writes, microseconds each in SQLite, so they run here directly; nothing
here waits on a lock (busy_timeout 0: `Database` waits for another process's write lock with
asyncio, see `Database.opened_transaction`), so the loop is never blocked on one.

Only the subset of aiosqlite's API the storage queries use, with the same meaning.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

__all__ = ["InlineConnection", "InlineCursor"]


class InlineCursor:
    """aiosqlite's Cursor, without the trips: each method runs at once."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def description(self) -> Any:
        return self._cursor.description

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row


class InlineConnection:
    """aiosqlite's Connection for the statements of one transaction, run in this thread."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction

    @property
    def total_changes(self) -> int:
        return self._raw.total_changes

    @property
    def row_factory(self) -> Any:
        return self._raw.row_factory

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None
                      ) -> InlineCursor:
        return InlineCursor(self._raw.execute(sql, () if parameters is None else parameters))

    async def executemany(self, sql: str,
                          parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> InlineCursor:
        return InlineCursor(self._raw.executemany(sql, parameters))

    async def execute_fetchall(self, sql: str,
                               parameters: Sequence[Any] | dict[str, Any] | None = None
                               ) -> list[Any]:
        return self._raw.execute(sql, () if parameters is None else parameters).fetchall()

    async def execute_insert(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()
                             ) -> Any:
        cursor = self._raw.execute(sql, parameters)
        return cursor.execute("SELECT last_insert_rowid()").fetchone()
