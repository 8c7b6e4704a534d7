"""Zalo's update shapes, documented and observed (shared/ZALO_BOT_API.md, issue 15), parsed
into what the flows see; and a member who cannot type is offered what she can do without."""

from __future__ import annotations

import pytest

from bot.channels._split import split_text, utf16_units
from bot.channels.zalo import MAX_TEXT, ZaloChannel, parse_update, unwrap_update
from handlers.types import Incoming, Kind
from storage import queries as q
from tests.conftest import STAFF_GROUP, STAFF_TELEGRAM_ID
from tests.fakes.fake_zalo import TOKEN, FakeZalo

BOT = "tbot"
DOCUMENTED = {"ok": True, "result": {"event_name": "message.text.received", "message": {
    "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
    "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
    "text": "Xin chào", "message_id": "2d758cb5e222177a4e35", "date": 1750316131602}}}
FLAT_LIVE = DOCUMENTED["result"]
# getUpdates as issue 15 saw it: no event_name, the sender's name as first_name.
NO_EVENT = {"message": {"from": {"id": "a1", "first_name": "Lò Thị", "last_name": "Mai"},
                        "chat": {"id": "a1"}, "text": "vay von chan nuoi",
                        "message_id": "m-9", "date": 1750316131602}}
OPENCLAW = {"event_name": "message.text.received", "message": {
    "from": {"id": "b2", "name": "Hoa", "avatar": "https://a.example/x.png"},
    "chat": {"id": "b2", "chat_type": "PRIVATE"}, "text": "hỏi", "message_id": "m-10"}}
PROTECTED = {"event_name": "message.unsupported.received", "message": {
    "from": {"id": "c3", "display_name": "Bé"}, "chat": {"id": "c3", "chat_type": "PRIVATE"},
    "message_id": "m-11", "date": 1750316131602}}


def parsed(body: dict) -> Incoming:
    update = unwrap_update(body)
    assert update is not None
    incoming = parse_update(update, BOT)
    assert incoming is not None
    return incoming


@pytest.mark.parametrize(("body", "user", "name", "text"), [
    (DOCUMENTED, "6ede9afa66b88fe6d6a9", "Ted", "Xin chào"),
    (FLAT_LIVE, "6ede9afa66b88fe6d6a9", "Ted", "Xin chào"),
    (NO_EVENT, "a1", "Lò Thị Mai", "vay von chan nuoi"),
    (OPENCLAW, "b2", "Hoa", "hỏi"),
])
def test_every_shape_with_text_is_her_text_with_her_name(body, user, name, text):
    incoming = parsed(body)
    assert (incoming.kind, incoming.text, incoming.display_name) == (Kind.TEXT, text, name)
    assert (incoming.chat_id, incoming.user_id, incoming.is_group) == (user, user, False)
    assert incoming.update_key == body.get("result", body)["message"]["message_id"]


def test_text_wins_even_under_an_unknown_or_unsupported_event_name():
    for event in ("message.unsupported.received", "message.new.kind", None):
        body = dict(NO_EVENT, event_name=event) if event else NO_EVENT
        assert parsed(body).kind == Kind.TEXT


def test_protected_group_messages_and_unknown_events_are_unsupported_not_dropped():
    assert parsed(PROTECTED).kind == Kind.UNSUPPORTED
    unknown = {"event_name": "message.file.received", "message": PROTECTED["message"]}
    assert parsed(unknown).kind == Kind.UNSUPPORTED
    # With no message there is no chat to answer: acknowledged, nothing else.
    assert parse_update({"event_name": "message.unsupported.received"}, BOT) is None


def test_media_shapes():
    photo = parsed({"event_name": "message.image.received", "message": {
        "from": {"id": "d4"}, "photo_url": "https://img.example/p.jpg", "caption": "ảnh"}})
    assert (photo.kind, photo.media_url, photo.text) == (
        Kind.PHOTO, "https://img.example/p.jpg", "ảnh")
    voice = parsed({"event_name": "message.voice.received", "message": {
        "from": {"id": "d4"}, "voice_url": "https://v.example/a.aac"}})
    assert (voice.kind, voice.media_url) == (Kind.VOICE, "https://v.example/a.aac")


def test_long_texts_stay_under_the_cap_in_utf16_units_with_a_margin():
    text = "\n\n".join(("🆘 Chị em bản Nậm Tăm hỏi về vay vốn 👩‍👧 " * 30).strip()
                       for _ in range(6))
    pieces = split_text(text, MAX_TEXT, utf16_units)
    assert len(pieces) > 2 and MAX_TEXT <= 1900
    assert all(utf16_units(p) <= MAX_TEXT for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == \
        text.replace(" ", "").replace("\n", "")  # nothing lost at the cuts


@pytest.fixture
async def fake_zalo():
    server = FakeZalo()
    await server.start()
    yield server
    await server.stop()


async def test_she_who_cannot_type_is_offered_ways_without_typing_and_staff_can_reach_her(
        staff_runtime, fake_zalo):
    channel = ZaloChannel(staff_runtime, token=TOKEN, base_url=fake_zalo.base_url,
                          mode="polling", poll_timeout=1)
    await channel.start()
    try:
        fake_zalo.push_event("message.unsupported.received", fake_zalo.message("c3"))
        (reply,) = [m["text"] for m in await fake_zalo.wait_sent("c3", 1)]
        assert "111" in reply and "113" in reply  # the hotlines from config
        assert "chi hội trưởng" in reply and "gửi câu hỏi giúp chị" in reply  # the leader relay
        assert "Hội Phụ nữ xã/phường" in reply
        assert "gõ chữ hoặc bấm nút" not in reply  # not the dead end of before
        assert "đã được báo" in reply
        async with staff_runtime.db.transaction() as conn:
            user = await q.user_by_external_id(conn, "zalo", "c3")
            rows = await (await conn.execute(
                "SELECT chat_id, text FROM outbox WHERE purpose = 'unsupported'")).fetchall()
        assert user is not None
        ((chat, flag),) = [tuple(r) for r in rows]
        assert chat == STAFF_GROUP and f"/nhan U{user.id}" in flag
        # A second one the same day does not flag her twice.
        fake_zalo.push_event("message.unsupported.received", fake_zalo.message("c3"))
        await fake_zalo.wait_sent("c3", 2)
        assert await channel.wait_idle(5)
        async with staff_runtime.db.transaction() as conn:
            (count,) = await (await conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE purpose = 'unsupported'")).fetchone()
        assert count == 1
        # Staff write back with the reference from the flag: it reaches her on Zalo.
        staff = Incoming(channel="telegram", chat_id=STAFF_TELEGRAM_ID,
                         user_id=STAFF_TELEGRAM_ID, text=f"/nhan U{user.id} Hội sẽ gọi chị")
        await staff_runtime.dispatcher.handle(staff)
        channel.outbox.wake()
        texts = [m["text"] for m in await fake_zalo.wait_sent("c3", 3, timeout=10)]
        assert "Hội sẽ gọi chị" in texts[-1]
    finally:
        await channel.stop()


async def test_zalo_webhook_set_info_delete_through_the_admin(config, fake_zalo):
    from bot.channels.zalo import ZaloWebhookAdmin
    from bot.config import ConfigError, Secret

    settings = config.with_channel(
        "zalo", token=Secret(TOKEN), base_url=fake_zalo.base_url,
        webhook_url="https://bot.example.org/zalo/webhook",
        webhook_secret=Secret("zalo-webhook-secret")).channel("zalo")
    admin = ZaloWebhookAdmin(settings)
    try:
        assert (await admin.info())["url"] == ""  # Zalo answers 404 when none is set
        result = await admin.set()
        assert result["url"] == "https://bot.example.org/zalo/webhook"
        assert fake_zalo.webhook["secret_token"] == "zalo-webhook-secret"
        info = await admin.info()
        assert info["url"] == info["expected_url"]
        assert TOKEN not in repr(info) and "zalo-webhook-secret" not in repr(info)
        await admin.delete()
        assert fake_zalo.webhook == {}
    finally:
        await admin.aclose()
    unset = ZaloWebhookAdmin(config.with_channel("zalo", token=Secret(TOKEN),
                                                 base_url=fake_zalo.base_url).channel("zalo"))
    try:
        with pytest.raises(ConfigError, match="webhook_url"):
            await unset.set()
    finally:
        await unset.aclose()
