"""Answers and corrections through the real Telegram path (fake Bot API on 127.0.0.1)."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime import open_runtime
from tests.conftest import STAFF_TELEGRAM_ID
from tests.fakes.telegram_chat import (
    QUESTION,
    messages,
    press,
    send,
    settle,
    start_channel,
    text_of,
)

pytestmark = pytest.mark.slow  # four full flows through Telegram: keep the default suite fast


async def ask(fake, asker: int) -> str:
    for line in ("/start", "1", "nam tam", "1", QUESTION, "2"):
        await send(fake, asker, line)
    reply = await send(fake, asker, "1")
    return next(w for w in text_of(reply).split() if w.startswith("LC27-"))


async def answer(fake, cluster: int, text: str, asker: int) -> str:
    staff = int(STAFF_TELEGRAM_ID)
    await send(fake, staff, f"/traloi {cluster}")
    await send(fake, staff, text)
    await press(fake, staff, "Ngân hàng")
    before = len(messages(fake, asker))
    saved = await press(fake, staff, "Lưu và báo")
    await settle(fake, asker, before)
    return text_of(saved)


async def only_cluster(runtime) -> int:
    async with runtime.db.transaction() as conn:
        (cluster,) = await (await conn.execute("SELECT cluster_id FROM questions")).fetchone()
    return cluster


async def test_a_long_answer_reaches_the_asker_whole(staff_config, clock, tmp_path, fake):
    runtime = await open_runtime(staff_config, tmp_path / "a.db", clock=clock)
    channel = await start_channel(runtime, fake)
    asker = 520
    try:
        await ask(fake, asker)
        cluster = await only_cluster(runtime)
        body = "Ngân hàng Chính sách xã hội trả lời: " + "hồ sơ gồm giấy đề nghị vay vốn; " * 115
        ending = "Liên hệ Phòng giao dịch huyện Mường Tè, số 0213 388 1234."
        await answer(fake, cluster, body + ending, asker)
        await asyncio.sleep(1.2)
    finally:
        await channel.stop()
        await runtime.close()
    assert len(body + ending) < 4096
    screen = "".join(m["text"] for m in messages(fake, asker))
    assert ending in screen


async def test_two_quick_corrections_each_reach_her_once_and_the_last_wins(
        staff_config, clock, tmp_path, fake):
    """Held: corrections saved back to back (before the outbox sent the first) reach her once
    each, the last one is the answer on her screen, and a restart adds nothing."""
    db = tmp_path / "b.db"
    runtime = await open_runtime(staff_config, db, clock=clock)
    channel = await start_channel(runtime, fake)
    asker = 521
    try:
        await ask(fake, asker)
        cluster = await only_cluster(runtime)
        await answer(fake, cluster, "Cho vay tối đa 50 triệu đồng, thời hạn 3 năm.", asker)
        await answer(fake, cluster, "Cho vay tối đa 70 triệu đồng, thời hạn 3 năm.", asker)
        await answer(fake, cluster, "Cho vay tối đa 100 triệu đồng, thời hạn 5 năm.", asker)
        await asyncio.sleep(1.5)
    finally:
        await channel.stop()
        await runtime.close()
    screen = [m["text"] for m in messages(fake, asker)]
    runtime = await open_runtime(staff_config, db, clock=clock)
    channel = await start_channel(runtime, fake)
    try:
        await asyncio.sleep(1.5)
    finally:
        await channel.stop()
        await runtime.close()
    assert [m["text"] for m in messages(fake, asker)] == screen
    notices = [t for t in screen if "triệu đồng" in t]
    assert len(notices) == 3, notices
    assert sum("70 triệu" in t and "100 triệu" not in t for t in notices) == 1
    assert "100 triệu đồng, thời hạn 5 năm" in notices[-1]


async def test_merge_then_quick_correction_tells_everyone_once_across_a_restart(
        staff_config, clock, tmp_path, fake):
    """Held: a cluster merged into an answered one learns the answer once, a correction right
    after reaches both women once, and a restart sends nothing more."""
    db = tmp_path / "m.db"
    runtime = await open_runtime(staff_config, db, clock=clock)
    channel = await start_channel(runtime, fake)
    first, second, staff = 530, 531, int(STAFF_TELEGRAM_ID)
    try:
        await ask(fake, first)
        for line in ("/start", "1", "nam tam", "1",
                     "Bản em chưa có điện lưới quốc gia, bao giờ thì được kéo điện về ạ?", "2"):
            await send(fake, second, line)
        await send(fake, second, "1")
        async with runtime.db.transaction() as conn:
            rows = await (await conn.execute(
                "SELECT cluster_id FROM questions ORDER BY id")).fetchall()
        (a,), (b,) = rows
        assert a != b
        await answer(fake, a, "Cho vay tối đa 50 triệu đồng, thời hạn 3 năm.", first)
        before = len(messages(fake, second))
        await send(fake, staff, f"/gop {b} {a}")
        await settle(fake, second, before)
        await answer(fake, a, "Cho vay tối đa 100 triệu đồng, thời hạn 5 năm.", first)
        await asyncio.sleep(2.5)
    finally:
        await channel.stop()
        await runtime.close()
    screens = {who: [m["text"] for m in messages(fake, who)] for who in (first, second)}
    runtime = await open_runtime(staff_config, db, clock=clock)
    channel = await start_channel(runtime, fake)
    try:
        await asyncio.sleep(1.5)
    finally:
        await channel.stop()
        await runtime.close()
    for who, screen in screens.items():
        assert [m["text"] for m in messages(fake, who)] == screen
        notices = [t for t in screen if "triệu đồng" in t]
        assert len(notices) == 2, (who, notices)
        assert "100 triệu đồng, thời hạn 5 năm" in notices[-1]


async def test_supporter_of_an_answered_cluster_gets_it_at_once_and_a_correction_once(
        staff_config, clock, tmp_path, fake):
    """Held: a woman who supports an answered question is sent the answer at once; the next
    correction reaches her once; pressing support again sends nothing new."""
    runtime = await open_runtime(staff_config, tmp_path / "s.db", clock=clock)
    channel = await start_channel(runtime, fake)
    first, second = 540, 541
    try:
        await ask(fake, first)
        cluster = await only_cluster(runtime)
        await answer(fake, cluster, "Cho vay tối đa 50 triệu đồng, thời hạn 3 năm.", first)
        for line in ("/start", "1", "nam tam", "1", QUESTION):
            await send(fake, second, line)
        await press(fake, second, "Ủng hộ")
        await fake.wait_for(lambda f: any("50 triệu" in m["text"] for m in messages(f, second)),
                            10, what="the answer for the supporter")
        await answer(fake, cluster, "Cho vay tối đa 100 triệu đồng, thời hạn 5 năm.", first)
        await asyncio.sleep(1.5)
        for line in ("/start", "1", "nam tam", "1", QUESTION):
            await send(fake, second, line)
        await press(fake, second, "Ủng hộ")
        await asyncio.sleep(1.5)
    finally:
        await channel.stop()
        await runtime.close()
    notices = [m["text"] for m in messages(fake, second)
               if "triệu đồng" in m["text"] and "LC27-" in m["text"]]
    assert len(notices) == 2, notices
    assert "100 triệu đồng, thời hạn 5 năm" in notices[-1]
