"""A really full disk under the running bot: a woman in danger still gets the hotlines, staff are
still alerted (once), and nobody is told "what you sent is kept" when it was not.

The database lives on a small tmpfs mounted for the test (skipped where mounting is refused),
which is then filled to the last byte.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.telegram import TelegramChannel
from bot.runtime import open_runtime
from bot.scheduler import start_scheduler
from tests.conftest import STAFF_GROUP
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.full_disk import fill

pytestmark = pytest.mark.slow  # a real file system filled up: its own CI step

DANGER = "Chồng em đang cầm dao đòi giết em, em trốn trong bếp, số em 0912345678"
KEPT = "vẫn được giữ"


def texts(fake: FakeBotAPI, chat) -> list[str]:
    return [m.get("text") or "" for m in fake.sent(chat) if not m.get("edited")]


async def test_danger_on_a_full_disk_gets_hotlines_and_one_staff_alert(staff_config, clock,
                                                                     small_disk):
    fake = FakeBotAPI()
    await fake.start()
    runtime = await open_runtime(staff_config, small_disk / "bot.db", clock=clock)
    channel = TelegramChannel(runtime, token=fake.token, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    scheduler = await start_scheduler(runtime, [channel])
    woman = 4242
    try:
        fake.push_message(woman, "/start")
        await fake.wait_sent(woman, 1, timeout=10)
        fill(small_disk)
        for _ in range(3):  # a little room the WAL still had is used up by the first writes
            fake.push_message(woman, "xin chào")
            await asyncio.sleep(0.3)
        before = len(texts(fake, woman))
        fake.push_message(woman, DANGER)
        await fake.wait_for(lambda f: len(texts(f, woman)) >= before + 2, 10,
                            what="her replies on a full disk")
        told = "\n".join(texts(fake, woman)[before:])
        assert "111" in told and "113" in told, told  # the hotlines, at once
        assert "CHƯA được lưu" in told and "gửi lại" in told
        assert all(KEPT not in t for t in texts(fake, woman))
        # Staff hear of her within a few spool rounds, though the database refuses every write.
        await fake.wait_for(lambda f: any("KHẨN" in t for t in texts(f, int(STAFF_GROUP))), 20,
                            what="the staff alert")
        await asyncio.sleep(6)  # more spool rounds: still one alert
        alerts = [t for t in texts(fake, int(STAFF_GROUP)) if "KHẨN" in t]
        assert len(alerts) == 1
        assert "0912345678" not in alerts[0]  # her phone is masked even in an emergency

        # Space comes back: the bot works again on the same connection.
        for filler in small_disk.glob("filler-*"):
            filler.unlink()
        before = len(texts(fake, woman))
        fake.push_message(woman, "/cua_toi")
        await fake.wait_for(lambda f: len(texts(f, woman)) > before, 10, what="a normal reply")
        assert "CHƯA được lưu" not in texts(fake, woman)[-1]
    finally:
        scheduler.shutdown(wait=False)
        await channel.stop()
        await runtime.close()
        await fake.stop()
