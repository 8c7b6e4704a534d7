"""Danger through the real Telegram path: an edited message, the gentle question's button."""

from __future__ import annotations

import pytest

from tests.conftest import STAFF_GROUP
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.telegram_chat import messages, press, send, settle, start_channel, text_of


@pytest.fixture
async def staff_telegram(staff_runtime, fake):
    channel = await start_channel(staff_runtime, fake)
    yield channel
    await channel.stop()


async def danger_alerts(runtime) -> list:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT * FROM outbox WHERE purpose = 'danger'")
        return await cur.fetchall()


async def test_an_edit_that_tells_of_danger_gets_hotlines_and_alerts_staff(
        staff_runtime, fake: FakeBotAPI, staff_telegram):
    chat = 701
    await send(fake, chat, "cho em hỏi vay vốn")
    before = len(messages(fake, chat))
    fake.push_message(chat, "ck e dang danh e, cuu e voi", edit=True)
    said = text_of(await settle(fake, chat, before))
    assert "113" in said and "Hội đã báo cho cán bộ" in said
    sent = await danger_alerts(staff_runtime)
    assert [a["chat_id"] for a in sent] == [STAFF_GROUP]


async def test_the_gentle_question_button_escalates_only_when_pressed(
        staff_runtime, fake: FakeBotAPI, staff_telegram):
    chat = 702
    said = text_of(await send(fake, chat, "Em muốn hỏi khi bị bạo lực gia đình thì báo ai"))
    assert "113" in said and "không ạ?" in said
    assert await danger_alerts(staff_runtime) == []
    said = text_of(await press(fake, chat, "cần giúp ngay"))
    assert "Hội đã báo cho cán bộ" in said
    assert len(await danger_alerts(staff_runtime)) == 1
