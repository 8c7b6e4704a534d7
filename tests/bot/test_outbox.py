"""bot/outbox.py, the OutboxWorker, on a real database with a recording sender.

What she would notice: a queued answer reaches her once, not twice; a second sender never sends
what the first holds; a platform saying "later" keeps the message for later, one saying "never"
stops the retries; a sender that lost its hold on a message leaves it to the new holder.
"""

from __future__ import annotations

import datetime as dt

from bot.outbox import LEASE, OutboxWorker, RetryLater, Undeliverable
from storage import queries as q

OTHER = "telegram:1:someone-else"  # pid 1 is alive: its lease is not released as a dead one's


class Recorder:
    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail
        self.before_send = None

    async def __call__(self, chat_id: str, text: str) -> None:
        if self.before_send is not None:
            await self.before_send(chat_id, text)
        if self.fail is not None:
            raise self.fail
        self.sent.append((chat_id, text))


async def queue(runtime, *texts: str, chat: str = "100") -> None:
    async with runtime.db.transaction() as conn:
        for text in texts:
            await q.enqueue(conn, "telegram", chat, text, "answer", now=runtime.db.clock())


async def rows(runtime):
    async with runtime.db.transaction() as conn:
        cur = await conn.execute(
            "SELECT text, sent_at, failed_at, attempts, lease_owner, last_error FROM outbox"
            " ORDER BY id")
        return [dict(r) for r in await cur.fetchall()]


def worker(runtime, send: Recorder) -> OutboxWorker:
    return OutboxWorker(runtime.db, "telegram", send, per_chat_seconds=0)


async def test_a_row_is_sent_once(runtime):
    await queue(runtime, "Câu trả lời cho chị", "Thông báo thứ hai")
    send = Recorder()
    w = worker(runtime, send)
    await w.drain_once()
    await w.drain_once()
    await worker(runtime, send).drain_once()  # a restarted sender too
    assert send.sent == [("100", "Câu trả lời cho chị"), ("100", "Thông báo thứ hai")]
    assert all(r["sent_at"] for r in await rows(runtime))


async def test_a_row_another_sender_holds_is_not_taken(runtime, clock):
    await queue(runtime, "Câu trả lời cho chị")
    async with runtime.db.transaction() as conn:
        assert len(await q.claim_outbox(conn, "telegram", OTHER, now=clock(), lease=LEASE)) == 1
    send = Recorder()
    w = worker(runtime, send)
    assert await w.release_dead_leases() == 0
    await w.drain_once()
    assert send.sent == []
    clock.now += LEASE + dt.timedelta(seconds=1)  # the holder died quietly: its lease ran out
    await w.drain_once()
    assert send.sent == [("100", "Câu trả lời cho chị")]


async def test_retry_later_keeps_the_row_until_then(runtime, clock):
    await queue(runtime, "Câu trả lời cho chị")
    send = Recorder(RetryLater(30, "Too Many Requests: retry after 30"))
    w = worker(runtime, send)
    await w.drain_once()
    [row] = await rows(runtime)
    assert (row["sent_at"], row["failed_at"], row["attempts"]) == (None, None, 1)
    assert "retry in 30s" in row["last_error"] and "too many requests" in row["last_error"]
    send.fail = None
    clock.now += dt.timedelta(seconds=29)
    await w.drain_once()
    assert send.sent == []  # not before the platform said
    clock.now += dt.timedelta(seconds=2)
    await w.drain_once()
    assert send.sent == [("100", "Câu trả lời cho chị")]


async def test_undeliverable_gives_up_and_keeps_no_words_of_the_error(runtime, clock):
    await queue(runtime, "Câu trả lời cho chị", chat="200")
    send = Recorder(Undeliverable("Forbidden: bot was blocked by the user Câu trả lời"))
    w = worker(runtime, send)
    await w.drain_once()
    send.fail = None
    clock.now += dt.timedelta(days=2)
    await w.drain_once()
    assert send.sent == []
    [row] = await rows(runtime)
    assert row["failed_at"] and row["sent_at"] is None and row["attempts"] == 1
    assert "blocked" in row["last_error"] and "Câu" not in row["last_error"]


async def test_the_lease_is_renewed_before_each_send(runtime, clock):
    """Her first message takes so long that the lease runs out and another sender takes the
    rest: the second must not go out from both."""
    await queue(runtime, "Tin thứ nhất", "Tin thứ hai")
    send = Recorder()

    async def slow_first(chat_id: str, text: str) -> None:
        if text == "Tin thứ nhất":
            clock.now += LEASE * 2
            async with runtime.db.transaction() as conn:
                taken = await q.claim_outbox(conn, "telegram", OTHER, now=clock(), lease=LEASE)
            assert [m.text for m in taken] == ["Tin thứ nhất", "Tin thứ hai"]

    send.before_send = slow_first
    await worker(runtime, send).drain_once()
    assert send.sent == [("100", "Tin thứ nhất")]
    assert [(r["text"], r["lease_owner"], r["sent_at"]) for r in await rows(runtime)][1] == (
        "Tin thứ hai", OTHER, None)
