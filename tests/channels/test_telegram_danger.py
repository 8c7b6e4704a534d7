"""Danger through the real Telegram path: an edited message, the gentle question's button."""

from __future__ import annotations

import pytest

from tests.conftest import STAFF_GROUP, STAFF_TELEGRAM_ID
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


async def test_an_alert_the_staff_group_refuses_goes_to_the_staff_members_themselves(
        staff_runtime, fake: FakeBotAPI, staff_telegram):
    # Red-team pass 3: with the bot removed from the staff group, the alert was marked failed
    # after one try, nobody was told, and she had been told "Hội đã báo cho cán bộ".
    fake.blocked_chats.add(int(STAFF_GROUP))
    said = text_of(await send(fake, 703, "ck e dang danh e chay mau, cuu e voi"))
    assert "Hội đã báo cho cán bộ" in said
    await fake.wait_for(lambda f: any("KHẨN" in (m.get("text") or "")
                                      for m in f.sent(int(STAFF_TELEGRAM_ID))),
                        10, what="the alert in the staff member's own chat")
    assert not any("Hội chưa chuyển được" in (m.get("text") or "") for m in fake.sent(703))


async def test_when_no_staff_chat_takes_the_alert_she_is_told_and_given_the_hotlines(
        staff_runtime, fake: FakeBotAPI, staff_telegram):
    fake.blocked_chats.update({int(STAFF_GROUP), int(STAFF_TELEGRAM_ID)})
    await send(fake, 704, "ck e dang danh e chay mau, cuu e voi")
    await fake.wait_for(lambda f: any("Hội chưa chuyển được" in (m.get("text") or "")
                                      for m in f.sent(704)), 10, what="her correction")
    correction = [m["text"] for m in fake.sent(704) if "Hội chưa chuyển được" in m["text"]]
    assert len(correction) == 1 and "113" in correction[0]
