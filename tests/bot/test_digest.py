"""The daily digest: exactly once a day, caught up after downtime, readable, split cleanly."""

from __future__ import annotations

import datetime as dt

from bot.channels._split import split_text
from bot.digest import send_daily_digest
from bot.runtime import open_runtime
from bot.scheduler import start_scheduler
from tests.conftest import STAFF_GROUP
from tests.fakes.staff_round import ask


async def digests(runtime) -> list:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT * FROM outbox WHERE purpose = 'digest' ORDER BY id")
        return await cur.fetchall()


async def send(runtime) -> bool:
    s = runtime.services
    return await send_daily_digest(runtime.db, s.settings, s.locale, s.clock())


async def test_twice_the_same_day_sends_once(staff_runtime):
    await ask(staff_runtime, "1", "Xin hỏi về hỗ trợ vay vốn nuôi lợn cho hộ nghèo")
    assert await send(staff_runtime) is True
    assert await send(staff_runtime) is False
    rows = await digests(staff_runtime)
    assert len(rows) == 1 and rows[0]["chat_id"] == STAFF_GROUP
    assert rows[0]["image"].startswith(b"\x89PNG")
    assert "vay vốn" in rows[0]["text"] and "1 người hỏi" in rows[0]["text"]


async def test_next_day_counts_only_new_questions(staff_runtime, clock):
    await ask(staff_runtime, "1", "Xin hỏi về hỗ trợ vay vốn nuôi lợn cho hộ nghèo")
    await send(staff_runtime)
    clock.now += dt.timedelta(days=1)
    assert await send(staff_runtime) is True
    text = (await digests(staff_runtime))[-1]["text"]
    assert "Không có câu hỏi mới" in text


async def test_restart_after_the_slot_catches_up_once(staff_config, clock, tmp_path):
    db = tmp_path / "digest.db"
    # 10:00 local, after the 07:30 slot: the bot was down at that minute.
    for _ in range(2):  # start, "crash", start again
        runtime = await open_runtime(staff_config, db, clock=clock)
        scheduler = await start_scheduler(runtime, [])
        scheduler.shutdown(wait=False)
        rows = await digests(runtime)
        await runtime.close()
        assert len(rows) == 1


async def test_before_the_slot_nothing_is_sent_at_start(staff_config, clock, tmp_path):
    clock.now = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)  # 07:00 in Vietnam
    runtime = await open_runtime(staff_config, tmp_path / "early.db", clock=clock)
    scheduler = await start_scheduler(runtime, [])
    job = scheduler.get_job("daily_digest")
    next_local = job.next_run_time.astimezone(staff_config.settings.timezone)
    scheduler.shutdown(wait=False)
    assert await digests(runtime) == []
    assert (next_local.hour, next_local.minute) == (7, 30)
    await runtime.close()


def test_long_digest_splits_at_paragraphs_within_the_limit():
    paragraphs = [f"Đoạn {i}: " + "câu hỏi về vay vốn " * 30 for i in range(40)]
    text = "\n\n".join(paragraphs)
    pieces = split_text(text, 4096)
    assert len(pieces) > 1
    assert all(len(p) <= 4096 for p in pieces)
    assert all(p.startswith("Đoạn") for p in pieces)  # cut between paragraphs, not mid-line
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())  # nothing lost
