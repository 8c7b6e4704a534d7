"""The outbox worker is woken by a message that queued something for it (a danger alert for
the staff group goes out at once), not by every message: each run is a write transaction the
next woman's message waits for."""

from __future__ import annotations

from bot.channels.telegram.adapter import TelegramChannel
from tests.conftest import STAFF_GROUP
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.telegram_chat import messages, send, text_of


async def test_a_danger_alert_wakes_the_outbox_and_a_plain_message_does_not(
        staff_runtime, fake: FakeBotAPI):
    channel = TelegramChannel(staff_runtime, token=fake.token, base_url=fake.base_url)
    channel.outbox.idle_seconds = 3600  # no tick in this test: only a wake makes it look
    runs = 0
    drain_once = channel.outbox.drain_once

    async def counted(batch: int = 200) -> bool:
        nonlocal runs
        runs += 1
        return await drain_once(batch)

    channel.outbox.drain_once = counted  # type: ignore[method-assign]
    await channel.start(poll_timeout=1)
    try:
        chat = 704
        await send(fake, chat, "/start")
        at_start = runs
        await send(fake, chat, "cho em hỏi vay vốn")
        await send(fake, chat, "/help")
        assert runs == at_start  # nothing queued: the outbox was left alone

        said = text_of(await send(fake, chat, "ck e dang danh e, cuu e voi"))
        assert "113" in said
        await fake.wait_for(lambda f: messages(f, int(STAFF_GROUP)), 5,
                            what="the danger alert in the staff group")
        assert runs > at_start
    finally:
        await channel.stop()
