"""The real python-telegram-bot Application, end to end, against a fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.channels.telegram import TelegramChannel
from bot.runtime import open_runtime
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.telegram_chat import (
    QUESTION,
    messages,
    press,
    send,
    settle,
    start_channel,
    text_of,
)


@pytest.fixture
async def telegram(runtime, fake):
    channel = await start_channel(runtime, fake)
    yield channel
    await channel.stop()


def buttons(reply: dict) -> list[str]:
    markup = reply.get("reply_markup") or {"inline_keyboard": []}
    return [b["text"] for row in markup["inline_keyboard"] for b in row]


async def questions(runtime) -> list:
    async with runtime.db.transaction() as conn:
        return await (await conn.execute("SELECT * FROM questions ORDER BY id")).fetchall()


async def test_full_flow_by_buttons(runtime, fake, telegram):
    chat = 501
    replies = await send(fake, chat, "/start")
    assert "hệ thống tự động" in text_of(replies)
    assert any("đồng ý" in b for b in buttons(replies[-1]))
    await press(fake, chat, "Tôi đồng ý")
    await press(fake, chat, "Trang sau")
    await press(fake, chat, "Trang sau")
    await press(fake, chat, "Nậm Tăm")
    replies = await press(fake, chat, "1. Kinh tế")
    assert "viết câu hỏi" in text_of(replies)
    await send(fake, chat, QUESTION)
    replies = await press(fake, chat, "Ẩn danh")
    assert "Xã Nậm Tăm" in text_of(replies) and "Gửi" in " ".join(buttons(replies[-1]))
    replies = await press(fake, chat, "Gửi")
    assert "LC27-000001" in text_of(replies)
    rows = await questions(runtime)
    assert [(r["channel"], r["commune"], r["topic"], r["text"]) for r in rows] == [
        ("telegram", "Xã Nậm Tăm", 1, QUESTION)]
    # The pressed keyboard was replaced by her choice, so old buttons cannot be pressed again.
    edits = [m for m in fake.sent(chat) if m.get("edited")]
    assert any("👉" in (m.get("text") or "") for m in edits)


async def test_full_flow_by_typing_only(runtime, fake, telegram):
    chat = 502
    for line in ("/start", "1", "nam tam", "1", QUESTION, "2"):
        await send(fake, chat, line)
    replies = await send(fake, chat, "gui")
    assert "LC27-000001" in text_of(replies)
    assert len(await questions(runtime)) == 1


async def test_restart_mid_flow_continues_at_the_same_step(config, clock, tmp_path, fake):
    db = tmp_path / "restart.db"
    chat = 503
    first = await open_runtime(config, db, clock=clock)
    channel = await start_channel(first, fake)
    for line in ("/start", "1", "nam tam"):
        await send(fake, chat, line)
    await channel.stop()
    await first.close()

    second = await open_runtime(config, db, clock=clock)
    channel = await start_channel(second, fake)
    try:
        replies = await send(fake, chat, "1")  # the topic step, where she was
        assert "viết câu hỏi" in text_of(replies)
        await send(fake, chat, QUESTION)
        await send(fake, chat, "1")
        replies = await send(fake, chat, "1")
        assert "LC27-000001" in text_of(replies)
    finally:
        await channel.stop()
        await second.close()


async def test_forged_callback_data_gets_a_clear_reply(runtime, fake, telegram):
    chat = 504
    await send(fake, chat, "/start")
    await press(fake, chat, "Tôi đồng ý")
    for forged in ("ask:send", "st:answer:1", "ask:cm:9999", "💣" * 10):
        before = len(messages(fake, chat))
        fake.push_callback(chat, forged)
        replies = await settle(fake, chat, before)
        assert "Nút này đã cũ" in text_of(replies) or "chỉ dành cho cán bộ" in text_of(replies)
    assert await questions(runtime) == []


async def test_start_mid_flow_asks_whether_to_abandon(runtime, fake, telegram):
    chat = 505
    for line in ("/start", "1", "nam tam"):
        await send(fake, chat, line)
    replies = await send(fake, chat, "/start")
    assert "bắt đầu lại" in text_of(replies).lower()
    replies = await press(fake, chat, "Tiếp tục")
    assert "nhóm vấn đề" in text_of(replies)


async def test_two_members_interleaved(runtime, fake, telegram):
    a, b = 601, 602
    script_a = ["/start", "1", "nam tam", "1", QUESTION, "1", "1"]
    script_b = ["/start", "1", "muong te", "2", "Rác thải ở suối bản em không ai thu gom", "2",
                "1"]
    for line_a, line_b in zip(script_a, script_b, strict=True):
        before_a, before_b = len(messages(fake, a)), len(messages(fake, b))
        fake.push_message(a, line_a)
        fake.push_message(b, line_b)
        await settle(fake, a, before_a)
        await settle(fake, b, before_b)
    rows = await questions(runtime)
    assert {(r["commune"], r["topic"]) for r in rows} == {("Xã Nậm Tăm", 1), ("Xã Mường Tè", 2)}


async def test_the_same_update_delivered_twice_is_handled_once(runtime, fake, telegram):
    chat = 506
    await send(fake, chat, "/start")
    await send(fake, chat, "1")
    update = fake.push_message(chat, "nam tam")
    await settle(fake, chat, len(messages(fake, chat)) - 0)
    count = len(messages(fake, chat))
    fake.push_raw(update)  # Telegram delivers it again (e.g. after a crash before the ack)
    await asyncio.sleep(0.6)
    assert len(messages(fake, chat)) == count
    replies = await send(fake, chat, "1")
    assert "viết câu hỏi" in text_of(replies)  # the topic step, not one further


async def test_vietnamese_command_menu_is_set(fake, telegram):
    commands = [params for method, params in fake.calls if method == "setMyCommands"]
    assert commands
    names = [c["command"] for c in commands[-1]["commands"]]
    assert names[:2] == ["start", "cua_toi"]
    assert "Gửi câu hỏi" in commands[-1]["commands"][0]["description"]


async def test_groups_and_other_bots_get_silence(runtime, fake, telegram):
    fake.push_message(-100123, "/start", user_id=77, chat_type="supergroup")
    fake.push_message(507, "/start@otherbot")
    await asyncio.sleep(0.6)
    assert messages(fake, -100123) == [] and messages(fake, 507) == []
    replies = await send(fake, 507, "/start@doithoai_test_bot")
    assert "hệ thống tự động" in text_of(replies)


async def test_same_question_as_on_the_terminal(runtime, fake, telegram, config, clock,
                                                tmp_path):
    from tests.chat import Member

    script = ("/start", "1", "nam tam", "1", QUESTION, "2", "1")
    elsewhere = await open_runtime(config, tmp_path / "terminal.db", clock=clock)
    try:
        terminal = Member(elsewhere, user="t1", channel="terminal")
        for line in script:
            await terminal.send(line)
        on_terminal = await questions(elsewhere)
    finally:
        await elsewhere.close()
    for line in script:
        await send(fake, 508, line)
    on_telegram = await questions(runtime)
    columns = ("dialogue_id", "receipt", "kind", "commune", "topic", "text", "anonymous",
               "represented", "cluster_id")
    assert [tuple(r[c] for c in columns) for r in on_telegram] == [
        tuple(r[c] for c in columns) for r in on_terminal]


async def test_staff_answer_reaches_the_asker_on_telegram(staff_runtime, fake):
    from tests.conftest import STAFF_TELEGRAM_ID

    channel = await start_channel(staff_runtime, fake)
    try:
        asker, staff_chat = 509, int(STAFF_TELEGRAM_ID)
        for line in ("/start", "1", "nam tam", "1", QUESTION, "2"):
            await send(fake, asker, line)
        receipt_reply = await send(fake, asker, "1")
        receipt = next(w for w in text_of(receipt_reply).split() if w.startswith("LC27-"))
        async with staff_runtime.db.transaction() as conn:
            (cluster,) = await (await conn.execute(
                "SELECT cluster_id FROM questions")).fetchone()
        await send(fake, staff_chat, f"/traloi {cluster}")
        await send(fake, staff_chat, "Ngân hàng Chính sách xã hội cho vay tối đa 100 triệu đồng.")
        await press(fake, staff_chat, "Ngân hàng")
        before = len(messages(fake, asker))
        await press(fake, staff_chat, "Lưu và báo")
        notice = await settle(fake, asker, before)
        assert receipt in text_of(notice) and "100 triệu" in text_of(notice)
        await asyncio.sleep(1.2)  # the outbox worker's next look finds nothing more to send
        assert len(messages(fake, asker)) == before + 1
    finally:
        await channel.stop()


async def test_update_ids_starting_afresh_are_not_taken_for_duplicates(config, clock, tmp_path):
    """A reused database meets update ids it has seen: from a new bot token, and from the same
    bot after a long silence (Telegram then restarts its ids). Neither is a duplicate."""
    db = tmp_path / "season.db"
    runtime = await open_runtime(config, db, clock=clock)

    async def one_season(token: str, chat: int) -> list[dict]:
        fake = FakeBotAPI(token=token)  # a fresh fake: update ids start again at 1
        await fake.start()
        channel = TelegramChannel(runtime, token=fake.token, base_url=fake.base_url)
        await channel.start(poll_timeout=1)
        try:
            for text in ("/start", "/help", "/cua_toi"):
                await send(fake, chat, text)
            return messages(fake, chat)
        finally:
            await channel.stop()
            await fake.stop()

    try:
        assert len(await one_season("123456:TEST", 701)) >= 3
        assert len(await one_season("654321:NEWTOKEN", 702)) >= 3  # new bot, ids 1, 2, 3 again
        clock.now += dt.timedelta(days=8)  # next season, same bot, ids restarted
        assert len(await one_season("123456:TEST", 703)) >= 3
    finally:
        await runtime.close()


async def test_corrected_answer_shows_once_on_her_screen_and_not_again_after_restart(
        staff_config, clock, tmp_path, fake):
    from tests.conftest import STAFF_TELEGRAM_ID

    db = tmp_path / "answers.db"
    asker, staff_chat = 510, int(STAFF_TELEGRAM_ID)
    runtime = await open_runtime(staff_config, db, clock=clock)
    channel = await start_channel(runtime, fake)
    try:
        for line in ("/start", "1", "nam tam", "1", QUESTION, "2"):
            await send(fake, asker, line)
        receipt_reply = await send(fake, asker, "1")
        receipt = next(w for w in text_of(receipt_reply).split() if w.startswith("LC27-"))
        async with runtime.db.transaction() as conn:
            (cluster,) = await (await conn.execute(
                "SELECT cluster_id FROM questions")).fetchone()

        async def answer(text: str) -> str:
            await send(fake, staff_chat, f"/traloi {cluster}")
            await send(fake, staff_chat, text)
            await press(fake, staff_chat, "Ngân hàng")
            before = len(messages(fake, asker))
            saved = await press(fake, staff_chat, "Lưu và báo")
            await settle(fake, asker, before)
            return text_of(saved)

        await answer("Ngân hàng Chính sách xã hội cho vay tối đa 50 triệu đồng.")
        saved = await answer("Ngân hàng Chính sách xã hội cho vay tối đa 100 triệu đồng, 5 năm.")
        assert "Đang báo cho 1 người" in saved
        await asyncio.sleep(1.2)  # the outbox worker's next look finds nothing more to send
    finally:
        await channel.stop()
        await runtime.close()
    screen = [m["text"] for m in messages(fake, asker)]
    corrections = [t for t in screen if "đính chính" in t.lower()]
    assert len(corrections) == 1 and receipt in corrections[0]
    assert "100 triệu đồng, 5 năm" in corrections[0] and "50 triệu" in corrections[0]
    assert sum("50 triệu" in t and "đính chính" not in t.lower() for t in screen) == 1

    runtime = await open_runtime(staff_config, db, clock=clock)
    channel = await start_channel(runtime, fake)
    try:
        await asyncio.sleep(1.5)  # a restarted outbox worker has had its look
    finally:
        await channel.stop()
        await runtime.close()
    assert [m["text"] for m in messages(fake, asker)] == screen
