"""The outbox's frequent transactions (claim, lease renewal, "sent" mark) run on the message
connection: an answer queued for her goes out, and is recorded as sent, while a long query
holds aiosqlite's thread (before, each of those trips waited for it, holding the lock every
woman's next message waits for)."""

from __future__ import annotations

import asyncio
import threading

from bot.outbox import OutboxWorker
from storage import queries as q


async def test_a_queued_answer_is_sent_and_marked_while_the_database_thread_is_held(runtime):
    async with runtime.db.transaction() as conn:
        await q.enqueue(conn, "telegram", "100", "Câu trả lời", "answer", now=runtime.db.clock())
    sent: list[str] = []

    async def send(chat_id: str, text: str) -> None:
        sent.append(text)

    entered, release, finished = threading.Event(), threading.Event(), threading.Event()

    def hold() -> int:
        entered.set()
        release.wait(10)  # bounded: without the change the test fails instead of hanging
        finished.set()
        return 0

    await runtime.db.conn.create_function("hold", 0, hold)
    held = asyncio.create_task(runtime.db.conn.execute("SELECT hold()"))
    await asyncio.to_thread(entered.wait, 10)
    try:
        await OutboxWorker(runtime.db, "telegram", send, per_chat_seconds=0).drain_once()
        done_while_held = not finished.is_set()
    finally:
        release.set()
        await held
    assert sent == ["Câu trả lời"] and done_while_held
    async with runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT sent_at FROM outbox")
    assert [r["sent_at"] is not None for r in rows] == [True]
