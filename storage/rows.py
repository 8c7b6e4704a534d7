"""Fetching one row or one value: the two shapes most queries need, one way each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite


async def first_row(conn: aiosqlite.Connection, sql: str,
                    params: Sequence[Any] = ()) -> aiosqlite.Row | None:
    """The first row, in one trip to the database thread instead of two (execute, fetch):
    these run on every message, inside the transaction every other message waits for."""
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)


async def scalar(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row; a query that must return a row and did not is a bug."""
    row = await first_row(conn, sql, params)
    if row is None:
        raise LookupError(f"no row for: {sql.split()[0]} …")
    return row[0]


def new_id(cur: aiosqlite.Cursor) -> int:
    """The id SQLite gave the row an INSERT just made."""
    if cur.lastrowid is None:
        raise LookupError("the INSERT made no row")
    return cur.lastrowid
