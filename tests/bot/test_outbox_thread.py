"""The outbox's frequent transactions (claim, lease renewal, "sent" mark) run on the message
connection: an answer queued for her goes out, and is recorded as sent, while a long query
holds aiosqlite's thread (before, each of those trips waited for it, holding the lock every
woman's next message waits for)."""

from __future__ import annotations

from bot.outbox import OutboxWorker
from storage import queries as q
from tests.fakes.held_thread import database_thread_held


async def test_a_queued_answer_is_sent_and_marked_while_the_database_thread_is_held(runtime):
    async with runtime.db.transaction() as conn:
        await q.enqueue(conn, "telegram", "100", "Câu trả lời", "answer", now=runtime.db.clock())
    sent: list[str] = []

    async def send(chat_id: str, text: str) -> None:
        sent.append(text)

    async with database_thread_held(runtime.db) as finished:
        await OutboxWorker(runtime.db, "telegram", send, per_chat_seconds=0).drain_once()
        done_while_held = not finished.is_set()
    assert sent == ["Câu trả lời"] and done_while_held
    async with runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT sent_at FROM outbox")
    assert [r["sent_at"] is not None for r in rows] == [True]
