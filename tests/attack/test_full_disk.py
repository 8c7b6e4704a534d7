"""A really full disk (tmpfs, 3 MB, filled to the last byte) under the bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest

from bot.runtime import open_runtime
from handlers.types import Incoming
from tests.crash_driver import BotProcess, write_config
from tests.fakes.bot_process import (
    DANGER,
    WOMAN,
    stalled_send,
    texts,
    with_staff_group,
)
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.full_disk import fill

pytestmark = pytest.mark.slow


async def test_spooled_alert_survives_kill9_on_a_full_disk(tmp_path, small_disk):
    fake = FakeBotAPI()
    await fake.start()
    database = small_disk / "bot.db"
    config = write_config(tmp_path, fake, database)
    with_staff_group(config)
    logs = tmp_path / "logs"
    logs.mkdir()
    hung, release, stall = stalled_send(fake, -1001, "KHẨN")  # Telegram slow for the group
    bot = BotProcess(fake, config, database, logs)
    try:
        bot.spawn()
        await bot.wait_ready()
        fake.push_message(WOMAN, "/start")
        await fake.wait_sent(WOMAN, 1, timeout=15)
        fill(small_disk)
        for _ in range(3):  # use up what room the WAL still had
            fake.push_message(WOMAN, "xin chào")
            await asyncio.sleep(0.3)
        fake.push_message(WOMAN, DANGER)
        await fake.wait_for(lambda f: any("111" in t for t in texts(f, WOMAN)), 15,
                            what="hotlines on a full disk")  # held: she gets them at once
        await asyncio.wait_for(hung.wait(), 20)  # the spool is sending the alert directly
        spooled = sorted(p.name for p in (small_disk / "bot.db.alerts").glob("*"))  \
            if (small_disk / "bot.db.alerts").is_dir() else []
        await bot.kill()
        for filler in small_disk.glob("filler-*"):
            filler.unlink()
        stall["on"] = False
        release.set()
        bot.spawn()
        await bot.wait_ready()
        with contextlib.suppress(AssertionError):
            await fake.wait_for(lambda f: any("KHẨN" in t for t in texts(f, -1001)), 15,
                                what="the staff alert after the restart")
        staff = texts(fake, -1001)
    finally:
        release.set()
        bot.kill_now()
        await fake.stop()
    assert any("KHẨN" in t for t in staff), (spooled, staff)


async def test_unstored_long_disclosure_reaches_staff_whole(staff_config, clock,
                                                            small_disk):
    runtime = await open_runtime(staff_config, small_disk / "bot.db", clock=clock)
    try:
        await runtime.dispatcher.handle(Incoming("telegram", "4343", "4343", text="/start"))
        fill(small_disk)
        for _ in range(3):
            await runtime.dispatcher.handle(Incoming("telegram", "4343", "4343", text="xin chào"))
        story = ("Em bị chồng đánh nhiều năm nay, " * 25) + \
            "Hiện em đang trốn ở nhà bà Lò Thị Xuân, bản Nậm Hàng, xã Mường Tè"
        replies = await runtime.dispatcher.handle(
            Incoming("telegram", "4343", "4343", text=story))
        told = "\n".join(r.text for r in replies)
        assert "111" in told and "CHƯA được lưu" in told  # held
        alerts = runtime.spool.pending()
    finally:
        await runtime.close()
    assert alerts
    assert all("Nậm Hàng" in a.text for a in alerts), alerts[0].text[-200:]


async def test_full_disk_redelivery_does_not_repeat_hotlines_or_staff_alerts(
        staff_config, clock, small_disk):
    from bot.channels.telegram import TelegramChannel
    from bot.scheduler import start_scheduler

    fake = FakeBotAPI()
    await fake.start()
    runtime = await open_runtime(staff_config, small_disk / "bot.db", clock=clock)
    channel = TelegramChannel(runtime, token=fake.token, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    scheduler = await start_scheduler(runtime, [channel])
    woman, gone, other = 4401, 4402, 4403
    try:
        fake.push_message(other, "/start")
        await fake.wait_sent(other, 1, timeout=10)
        fill(small_disk)
        for _ in range(3):  # use up what room the WAL still had
            fake.push_message(other, "xin chào")
            await asyncio.sleep(0.3)
        await asyncio.sleep(1)
        fake.blocked_chats.add(gone)  # wrote, then blocked the bot
        fake.push_message(gone, "xin chào")
        fake.push_message(woman, DANGER)  # same batch, just after
        await fake.wait_for(lambda f: any("111" in t for t in texts(f, woman)), 15,
                            what="her hotlines")
        await asyncio.sleep(16)  # three redelivery rounds (2 s, 4 s, 8 s back-off)
        hotlines = [t for t in texts(fake, woman) if "111" in t]
        alerts = [t for t in texts(fake, -1001) if "KHẨN" in t]
    finally:
        scheduler.shutdown(wait=False)
        await channel.stop()
        await runtime.close()
        await fake.stop()
    assert (len(alerts), len(hotlines)) == (1, 1)



async def _exhaust(db) -> None:
    """Fill what room the WAL still has: commit rows until the smallest insert is refused."""
    for size in (65536, 4096, 256, 1):
        for _ in range(10_000):
            try:
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO atk_filler VALUES (?)", (b"\0" * size,))
            except Exception:
                break


async def test_outbox_rows_sent_as_the_disk_fills_are_not_sent_again(config, clock,
                                                                     small_disk):
    from collections import Counter

    from bot.outbox import OutboxWorker
    from storage import queries as q

    runtime = await open_runtime(config, small_disk / "bot.db", clock=clock)
    sent: Counter[str] = Counter()
    try:
        async with runtime.db.transaction() as conn:
            await conn.execute("CREATE TABLE atk_filler (x BLOB)")
            for i in range(5):
                await q.enqueue(conn, "telegram", str(7000 + i), f"Câu trả lời cho chị {i}",
                                purpose="answer", dedupe_key=f"atk:{i}", now=clock())

        async def send(chat_id: str, text: str) -> None:
            sent[text] += 1
            if sent.total() == 1:  # the disk fills while Telegram takes the first message
                fill(small_disk)
                await _exhaust(runtime.db)

        worker = OutboxWorker(runtime.db, "telegram", send, per_chat_seconds=0)
        with contextlib.suppress(Exception):
            await worker.drain_once()
        for filler in small_disk.glob("filler-*"):
            filler.unlink()
        async with runtime.db.transaction() as conn:
            await conn.execute("DELETE FROM atk_filler")
        clock.now += dt.timedelta(minutes=11)  # the lease runs out, as designed
        while await worker.drain_once():
            pass
        await worker.drain_once()
    finally:
        await runtime.close()
    assert len(sent) == 5
    assert max(sent.values()) == 1, dict(sent)
