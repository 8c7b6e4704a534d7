"""The message transaction (Database.opened_transaction) on its own connection in the event
loop's thread: what a member would notice is that she is answered and her message kept while
the database thread is busy or another process holds the write lock, and that the WAL, which
holds her words until checkpointed, does not grow without end."""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3

import storage.db
from handlers.types import Incoming
from storage.db import Database
from tests.fakes.held_thread import database_thread_held

_keys = itertools.count(1)


def start(user: str) -> Incoming:
    return Incoming(channel="terminal", chat_id=user, user_id=user, text="/start",
                    display_name="Lan", update_key=str(next(_keys)))


async def kept(db: Database, user: str) -> bool:
    async with db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT 1 FROM conversations WHERE channel = 'terminal' AND chat_id = ?", (user,))
    return bool(rows)


async def test_she_is_answered_while_the_database_thread_is_held(runtime):
    # A long query holds aiosqlite's thread (outside the transaction lock, as a console read
    # may). Her message must not wait for it: it makes no trip to that thread.
    async with database_thread_held(runtime.db) as finished:
        replies = await runtime.dispatcher.handle(start("lan"))
        answered_while_held = not finished.is_set()
    assert replies and replies[0].text
    assert answered_while_held
    assert await kept(runtime.db, "lan")


async def test_a_message_waits_for_another_process_write_and_is_then_kept(runtime):
    other = sqlite3.connect(runtime.db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # e.g. a CLI command writing
        handling = asyncio.create_task(runtime.dispatcher.handle(start("mai")))
        for _ in range(5):
            await asyncio.sleep(0.01)  # the loop runs on: the wait is not inside SQLite
        assert not handling.done()
        other.execute("COMMIT")
        replies = await handling
    finally:
        other.close()
    assert replies and replies[0].text
    assert await kept(runtime.db, "mai")


async def test_the_wal_is_checkpointed_while_messages_arrive(runtime, monkeypatch):
    monkeypatch.setattr(storage.db, "CHECKPOINT_EVERY", 5, raising=False)
    wal = runtime.db.path + "-wal"
    users = (f"u{n}" for n in itertools.count())
    for _ in range(30):
        await runtime.dispatcher.handle(start(next(users)))
    size = os.path.getsize(wal)
    for _ in range(90):
        await runtime.dispatcher.handle(start(next(users)))
    # Checkpointed every 5 commits, the WAL starts over instead of growing with every message.
    assert os.path.getsize(wal) <= size


async def test_an_in_memory_database_is_one_database_for_both_connections(clock):
    db = await Database.open(":memory:", clock)
    try:
        def first(raw: sqlite3.Connection) -> None:
            raw.execute("INSERT INTO conversations (channel, chat_id, state, data, offered, "
                        "updated_at) VALUES ('terminal', 'x', 'idle', '{}', '[]', '2026')")

        async with db.opened_transaction(first):
            pass
        assert await kept(db, "x")
    finally:
        await db.close()
