"""storage.inline stands in for aiosqlite's connection inside a message's transaction: every
method the queries call on a connection or a cursor must be there, with the same results."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from storage.inline import InlineConnection, InlineCursor

ROOT = Path(__file__).resolve().parents[2]
# Calls on a connection that never run inside a message's transaction.
NOT_IN_A_MESSAGE = {
    "create_function": "storage/console.register_fold, at the web console's start",
    "backup": "storage/db.Database.backup",
    "close": "storage/backups' own sqlite3 connections, storage/db.Database.close",
}


def used(pattern: str) -> set[str]:
    names: set[str] = set()
    for folder in ("storage", "handlers", "bot/matching"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return names


def test_every_connection_and_cursor_method_the_queries_call_is_there():
    conn_calls = used(r"\bconn\.([a-z_]+)") - set(NOT_IN_A_MESSAGE)
    cursor_calls = used(r"\bcur\.([a-z_]+)")
    assert conn_calls and cursor_calls
    assert [n for n in sorted(conn_calls) if not hasattr(InlineConnection, n)] == []
    assert [n for n in sorted(cursor_calls) if not hasattr(InlineCursor, n)] == []


async def test_it_answers_as_aiosqlite_does():
    raw = sqlite3.connect(":memory:", isolation_level=None)
    raw.row_factory = sqlite3.Row
    conn = InlineConnection(raw)
    await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, word TEXT)")
    cur = await conn.execute("INSERT INTO t (word) VALUES (?)", ("một",))
    assert (cur.lastrowid, cur.rowcount) == (1, 1)
    await conn.executemany("INSERT INTO t (word) VALUES (?)", [("hai",), ("ba",)])
    assert (await conn.execute_insert("INSERT INTO t (word) VALUES ('bốn')"))[0] == 4
    assert [r["word"] async for r in await conn.execute("SELECT word FROM t ORDER BY id")] == [
        "một", "hai", "ba", "bốn"]
    assert (await (await conn.execute("SELECT COUNT(*) FROM t")).fetchone())[0] == 4
    assert len(await conn.execute_fetchall("SELECT * FROM t WHERE id > ?", (1,))) == 3
    assert (await conn.execute("UPDATE t SET word = 'x' WHERE id > 2")).rowcount == 2
    assert not conn.in_transaction
    raw.close()
