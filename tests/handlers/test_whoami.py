"""/id: how the IT person finds staff user ids and the staff group's id, on any channel."""

from __future__ import annotations

from handlers.types import Incoming


async def say(runtime, text: str, *, channel="telegram", user="5551234", chat=None, group=False):
    replies = await runtime.dispatcher.handle(Incoming(
        channel=channel, chat_id=chat or user, user_id=user, text=text, is_group=group))
    return "\n".join(r.text for r in replies)


async def test_anyone_learns_her_own_id_in_a_private_chat(runtime):
    text = await say(runtime, "/id")
    assert "Mã số (id) của chị trên Telegram: 5551234" in text
    assert "Zalo" in await say(runtime, "/id", channel="zalo", user="a1b2c3")


async def test_in_a_group_anyone_learns_the_group_id_though_she_is_not_staff_yet(runtime):
    text = await say(runtime, "/id", user="777", chat="-1001234567890", group=True)
    assert "Id của nhóm này trên Telegram: -1001234567890" in text and "Id của chị: 777" in text
    # Everything else a non-staff member writes in a group stays unanswered, as before.
    assert await say(runtime, "/start", user="777", chat="-1001234567890", group=True) == ""
    assert await say(runtime, "chao ca nha", user="777", chat="-1001234567890", group=True) == ""


async def test_id_in_the_middle_of_a_question_shows_her_step_again(runtime):
    from tests.chat import Member

    lan = Member(runtime, user="lan")
    await lan.send("/start")
    await lan.send("1")
    await lan.send("/id")
    assert "Mã số (id) của chị trên Terminal: lan" in lan.text
    assert "Chị ở xã/phường nào?" in lan.text
    await lan.send("nam tam")
    assert "Xã/phường: Xã Nậm Tăm." in lan.text
