"""The Zalo channel against a fake Zalo Bot API on 127.0.0.1: polling, webhook, outbox, logs."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.channels.zalo import (
    MAX_TEXT,
    Backoff,
    ZaloAuthError,
    ZaloBadRequest,
    ZaloChannel,
    ZaloNetworkError,
    ZaloTimeout,
    unwrap_update,
)
from bot.config import ConfigError, Secret
from bot.logs import redact
from bot.outbox import RetryLater, Undeliverable
from bot.runtime import open_runtime
from handlers.types import Kind, Option, Reply
from storage import queries as q
from tests.chat import Member
from tests.fakes.fake_zalo import TOKEN, FakeZalo

FAST = Backoff(first=0.05, cap=0.2)
SECRET = "s3cret-webhook-token"
QUESTION = "Chị em trong thôn muốn vay vốn chăn nuôi lợn thì làm thủ tục ở đâu ạ?"
SCENARIO = ("/start", "1", "nam tam", "1", QUESTION, "2", "gui")
VOICE_URL = "https://voice.zalo.example/v/abc123.aac"


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    server = FakeZalo()
    await server.start()
    yield server
    await server.stop()


def polling(runtime, fake: FakeZalo, **kwargs: Any) -> ZaloChannel:
    options: dict[str, Any] = {"token": TOKEN, "base_url": fake.base_url, "mode": "polling",
                               "poll_timeout": 1, "backoff": FAST}
    return ZaloChannel(runtime, **(options | kwargs))


@pytest.fixture
async def channel(runtime, fake) -> AsyncIterator[ZaloChannel]:
    ch = polling(runtime, fake)
    await ch.start()
    yield ch
    await ch.stop()


async def exchange(fake: FakeZalo, channel: ZaloChannel, chat: str, push) -> list[str]:
    """Push one update, wait for its answer to be complete; the texts sent back."""
    before = len(fake.sent(chat))
    push()
    await fake.wait_sent(chat, before + 1)
    assert await channel.wait_idle(5)
    return fake.texts(chat)[before:]


async def say(fake: FakeZalo, channel: ZaloChannel, chat: str, text: str) -> str:
    return "\n".join(await exchange(fake, channel, chat, lambda: fake.push_text(chat, text)))


async def stored_questions(runtime) -> list[dict]:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT * FROM questions ORDER BY id")
        return [dict(row) for row in await cur.fetchall()]


# -- the member flow ----------------------------------------------------------------------------


async def test_member_scenario_stores_what_the_terminal_stores(
        runtime, fake, channel, config, clock, tmp_path):
    for line in SCENARIO[:-1]:
        await say(fake, channel, "u1", line)
    last = await say(fake, channel, "u1", SCENARIO[-1])
    assert "LC27-000001" in last
    zalo_rows = await stored_questions(runtime)

    terminal = await open_runtime(config, tmp_path / "terminal.db", clock=clock)
    try:
        member = Member(terminal)
        for line in SCENARIO:
            await member.send(line)
        terminal_rows = await stored_questions(terminal)
    finally:
        await terminal.close()

    assert len(zalo_rows) == len(terminal_rows) == 1
    zalo_row, terminal_row = zalo_rows[0], terminal_rows[0]
    assert (zalo_row["channel"], terminal_row["channel"]) == ("zalo", "terminal")
    assert zalo_row["text"] == QUESTION and zalo_row["anonymous"] == 1
    differ = {"channel", "created_at"}  # created_at is the wall-clock moment of storing
    assert ({k: v for k, v in zalo_row.items() if k not in differ}
            == {k: v for k, v in terminal_row.items() if k not in differ})


async def test_polling_start_drops_a_webhook_and_sends_timeout_as_text(runtime, fake):
    fake.webhook = {"url": "https://old.example/hook", "secret_token": SECRET, "updated_at": 1}
    ch = polling(runtime, fake)
    await ch.start()
    try:
        await say(fake, ch, "u1", "/start")
    finally:
        await ch.stop()
    assert fake.webhook == {}
    polls = fake.answered("getUpdates")
    assert polls and all(c.params == {"timeout": "1"} for c in polls)


async def test_menus_arrive_as_numbered_text_without_parse_mode(runtime, fake, channel):
    text = await say(fake, channel, "u1", "/start")
    assert "\n1. " in text and "\n2. " in text
    assert runtime.services.locale.t("menu.type_number") in text
    assert all(m["parse_mode"] is None for m in fake.sent("u1"))
    commune = await say(fake, channel, "u1", "1")  # typed digit = "Đồng ý"
    assert "xã/phường nào" in commune


async def test_long_text_is_split_and_images_are_left_out(runtime, fake, channel):
    paragraphs = [f"Đoạn {i}: " + "chị em hỏi về vay vốn " * 12 for i in range(30)]
    long = Reply("\n\n".join(paragraphs), (Option("Đồng ý", "yes", 1), Option("Không", "no", 2)))
    assert len(runtime.dispatcher.render_text(long)) > 2 * MAX_TEXT
    await channel.send_replies("u1", [long, Reply("Biểu đồ", image=b"\x89PNG")])
    texts = fake.texts("u1")
    assert len(texts) >= 4
    assert all(len(t) <= MAX_TEXT for t in texts)
    assert texts[0].startswith("Đoạn 0:") and texts[-2].rstrip().endswith(
        runtime.services.locale.t("menu.type_number"))
    assert all(p.split(":")[0] in "\n".join(texts) for p in paragraphs)
    assert texts[-1] == "Biểu đồ"
    assert fake.answered("sendPhoto") == []


async def test_a_document_becomes_a_note(runtime, fake, channel):
    await channel.send_replies("u1", [Reply("Xuất xong.", document=("cau_hoi.xlsx", b"PK"))])
    (text,) = fake.texts("u1")
    assert text.startswith("Xuất xong.") and "cau_hoi.xlsx" in text


# -- media --------------------------------------------------------------------------------------


MEDIA = [
    ("message.sticker.received", {"sticker": "st-1"}, "media.sticker"),
    ("message.image.received", {"photo_url": "https://img.example/a.jpg"}, "media.photo"),
    # What she cannot type is answered with what she can do without typing (issue 15).
    ("message.unsupported.received", {}, "unsupported.intro"),
    ("message.reaction.received", {}, "unsupported.intro"),  # unknown: answered, not lost
]


async def test_media_get_a_vietnamese_reply(runtime, fake, channel):
    for i, (event, fields, key) in enumerate(MEDIA):
        chat = f"u{i}"
        push = functools.partial(fake.push_event, event, fake.message(chat, **fields))
        texts = await exchange(fake, channel, chat, push)
        assert runtime.services.locale.t(key) in texts[0], event


async def test_unsupported_event_without_message_is_acknowledged_silently(runtime, fake, channel):
    fake.push_event("message.unsupported.received", None)
    text = await say(fake, channel, "u1", "/help")  # polling went on past it
    assert "/start" in text
    assert len(fake.sent("u1")) == 1


async def test_voice_in_the_question_step_is_kept(runtime, fake, channel):
    for line in ("/start", "1", "nam tam", "1"):
        await say(fake, channel, "u1", line)
    texts = await exchange(fake, channel, "u1", lambda: fake.push_event(
        "message.voice.received", fake.message("u1", voice_url=VOICE_URL)))
    assert runtime.services.locale.t("ask.voice_received") in texts[0]
    await say(fake, channel, "u1", "2")
    assert "LC27-000001" in await say(fake, channel, "u1", "1")
    (row,) = await stored_questions(runtime)
    assert row["voice_url"] == VOICE_URL


# -- polling: idle, 429, list results -----------------------------------------------------------


async def test_idle_polls_are_normal(runtime, fake, caplog):
    caplog.set_level(logging.DEBUG, logger="bot")
    ch = polling(runtime, fake, poll_timeout=0.1)
    await ch.start()
    try:
        await asyncio.sleep(0.35)
        assert len(fake.answered("getUpdates", 408)) >= 2
        assert "/start" in await say(fake, ch, "u1", "/help")
    finally:
        await ch.stop()
    assert [r.getMessage() for r in caplog.records
            if r.name.startswith("bot") and r.levelno >= logging.WARNING] == []


async def test_an_instant_idle_answer_is_not_polled_in_a_tight_loop(runtime, fake, caplog):
    fake.fail_next(4, 408, method="getUpdates")  # answered at once instead of held
    ch = polling(runtime, fake)
    await ch.start()
    try:
        assert "/start" in await say(fake, ch, "u1", "/help")
    finally:
        await ch.stop()
    idle = fake.answered("getUpdates", 408)
    assert len(idle) == 4
    assert all(b.at - a.at >= FAST.first * 0.8 for a, b in itertools.pairwise(idle))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_rate_limited_polls_back_off_and_the_message_is_answered(runtime, fake, caplog):
    fake.fail_next(2, 429, method="getUpdates")
    ch = polling(runtime, fake)
    await ch.start()
    try:
        assert "/start" in await say(fake, ch, "u1", "/help")
    finally:
        await ch.stop()
    limited = fake.answered("getUpdates", 429)
    assert len(limited) == 2
    gaps = [b.at - a.at for a, b in zip(limited, fake.answered("getUpdates")[1:3], strict=True)]
    assert gaps[0] >= FAST.first * 0.8 and gaps[1] >= 2 * FAST.first * 0.8, gaps
    assert any("429" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_rate_limited_reply_is_retried(runtime, fake, channel):
    fake.fail_next(1, 429, method="sendMessage")
    assert "/start" in await say(fake, channel, "u1", "/help")
    assert len(fake.answered("sendMessage", 429)) == 1


async def test_a_list_result_from_get_updates_is_accepted(runtime, fake, channel):
    fake.updates_as_list = True
    assert "/start" in await say(fake, channel, "u1", "/help")


# -- the API client -----------------------------------------------------------------------------


async def test_ok_false_with_http_200_is_an_error(runtime, fake, channel):
    fake.fail_next(1, 400, method="getMe", http_status=200, description="Bad Request: nope")
    with pytest.raises(ZaloBadRequest, match="getMe failed: 400 Bad Request: nope"):
        await channel.api.get_me()
    fake.fail_next(1, 408, method="getMe", http_status=200)
    with pytest.raises(ZaloTimeout):
        await channel.api.get_me()


async def test_errors_name_the_method_not_the_url(runtime, fake):
    wrong = ZaloChannel(runtime, token=TOKEN.replace("Fake", "Nope"), base_url=fake.base_url,
                        mode="polling")
    try:
        with pytest.raises(ZaloAuthError) as auth:
            await wrong.api.get_me()
    finally:
        await wrong.stop()
    closed = ZaloChannel(runtime, token=TOKEN, base_url="http://127.0.0.1:9/bot", mode="polling")
    try:
        with pytest.raises(ZaloNetworkError) as network:
            await closed.api.send_message("u1", "xin chào")
    finally:
        await closed.stop()
    for exc in (auth.value, network.value):
        assert TOKEN not in str(exc) and TOKEN.split(":")[1] not in repr(exc)
    # The httpx exception (its request holds the URL) is not chained into tracebacks.
    assert network.value.__cause__ is None and network.value.__suppress_context__
    assert "sendMessage" in str(network.value)


async def test_a_rejected_token_stops_the_start_with_a_clear_error(runtime, fake):
    ch = ZaloChannel(runtime, token=TOKEN.replace("Fake", "Nope"), base_url=fake.base_url)
    with pytest.raises(ConfigError, match="ZALO_BOT_TOKEN") as info:
        await ch.start()
    assert "Nope" not in str(info.value)
    assert fake.answered("getUpdates") == []


# -- outbox -------------------------------------------------------------------------------------


async def test_outbox_messages_reach_zalo_users(runtime, fake, channel):
    async with runtime.db.transaction() as conn:
        await q.enqueue(conn, "zalo", "u7", "📬 Câu hỏi LC27-000001 của chị đã có trả lời.",
                        "answer", now=runtime.db.clock())
        await q.enqueue(conn, "telegram", "u7", "not for zalo", "answer", now=runtime.db.clock())
    channel.outbox.wake()
    sent = await fake.wait_sent("u7", 1)
    await asyncio.sleep(0.05)
    assert [m["text"] for m in sent] == ["📬 Câu hỏi LC27-000001 của chị đã có trả lời."]
    assert len(fake.sent("u7")) == 1


SEND_ERRORS = [
    (429, "Quota exceeded", RetryLater),
    (403, "Server error", RetryLater),  # the API lists 403 as a server error
    (500, "Internal", RetryLater),
    (403, "Forbidden: user blocked the bot", Undeliverable),
    (400, "Bad Request: chat not found", Undeliverable),
    (404, "Not Found", Undeliverable),
]


async def test_outbox_sender_maps_errors(runtime, fake, channel):
    for code, description, expected in SEND_ERRORS:
        fake.fail_next(1, code, method="sendMessage", description=description)
        with pytest.raises(expected) as info:
            await channel.send_queued("u1", "Thông báo của Hội")
        assert TOKEN not in str(info.value)
    await channel.send_queued("u1", "Thông báo của Hội")
    assert fake.texts("u1") == ["Thông báo của Hội"]


async def test_outbox_sender_retries_network_errors(runtime):
    ch = ZaloChannel(runtime, token=TOKEN, base_url="http://127.0.0.1:9/bot", mode="polling")
    try:
        with pytest.raises(RetryLater):
            await ch.send_queued("u1", "Thông báo")
    finally:
        await ch.stop()


# -- to_incoming --------------------------------------------------------------------------------


async def test_to_incoming_parses_defensively(runtime, fake):
    ch = polling(runtime, fake)
    try:
        text = ch.to_incoming({"event_name": "message.text.received", "message": {
            "from": {"id": "f1", "name": "Hoa"}, "chat": {"id": "c1", "chat_type": "GROUP"},
            "text": "xin chào", "message_id": "m1", "date": 1750316131602}})
        assert text is not None
        assert (text.channel, text.chat_id, text.user_id, text.kind, text.text) == (
            "zalo", "c1", "f1", Kind.TEXT, "xin chào")
        assert (text.display_name, text.update_key, text.is_group) == ("Hoa", "m1", True)

        image = ch.to_incoming({"event_name": "message.image.received", "message": {
            "from": {"id": 42}, "photo": "https://img.example/p.jpg", "caption": "ảnh",
            "message_id": 7}})
        assert image is not None
        assert (image.kind, image.chat_id, image.user_id, image.media_url, image.text) == (
            Kind.PHOTO, "42", "42", "https://img.example/p.jpg", "ảnh")
        assert image.update_key == "7" and not image.is_group

        voice = ch.to_incoming({"event_name": "message.voice.received",
                                "message": fake.message("u1", voice_url=VOICE_URL)})
        assert voice is not None and (voice.kind, voice.media_url) == (Kind.VOICE, VOICE_URL)

        assert ch.to_incoming({"event_name": "message.unsupported.received"}) is None
        assert ch.to_incoming({"event_name": "message.text.received",
                               "message": {"text": "no chat", "from": "?"}}) is None
        odd = ch.to_incoming({"event_name": 5, "message": {"chat": {"id": "c"}, "text": 9}})
        assert odd is not None and (odd.kind, odd.text) == (Kind.UNSUPPORTED, "")
    finally:
        await ch.stop()


@pytest.mark.parametrize(("body", "expected"), [
    ({"ok": True, "result": {"event_name": "e", "message": {}}}, {"event_name": "e",
                                                                 "message": {}}),
    ({"event_name": "e"}, {"event_name": "e"}),
    ({"ok": True, "result": "x"}, None),
    ({"ok": False, "error_code": 400}, None),
    # getUpdates results were seen without event_name: a message is still an update.
    ({"ok": True, "result": {"message": {}}}, {"message": {}}),
    ({"ok": True, "result": {"text": "no message"}}, None),
    ([{"event_name": "e"}], None),
    ("e", None),
])
def test_unwrap_update(body, expected):
    assert unwrap_update(body) == expected


# -- webhook ------------------------------------------------------------------------------------


@pytest.fixture
async def hook(runtime, fake, config) -> AsyncIterator[ZaloChannel]:
    """A webhook-mode channel, not listening: tests call its ASGI app directly."""
    runtime.config = config.with_channel("zalo", webhook_secret=Secret(SECRET))
    ch = ZaloChannel(runtime, token=TOKEN, base_url=fake.base_url, mode="webhook", backoff=FAST)
    yield ch
    await ch.stop()


@pytest.fixture
async def client(hook) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=hook.webhook_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zalo.test") as http:
        yield http


def handled(runtime, monkeypatch) -> list[str]:
    """Record the update keys the dispatcher is asked to handle."""
    seen: list[str] = []
    original = runtime.dispatcher.handle

    async def counting(incoming, deliver=None):
        seen.append(incoming.update_key)
        return await original(incoming, deliver)

    monkeypatch.setattr(runtime.dispatcher, "handle", counting)
    return seen


def update(fake: FakeZalo, chat: str, text: str, **fields: Any) -> dict:
    return {"event_name": "message.text.received",
            "message": fake.message(chat, text=text, **fields)}


async def post(client: httpx.AsyncClient, body: Any, secret: str | None = SECRET,
               path: str = "/zalo/webhook") -> httpx.Response:
    headers = {"X-Bot-Api-Secret-Token": secret} if secret is not None else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(path, content=content,
                             headers=headers | {"content-type": "application/json"})


async def test_webhook_refuses_a_wrong_or_missing_secret(runtime, fake, hook, client,
                                                         monkeypatch):
    seen = handled(runtime, monkeypatch)
    for secret in ("wrong-secret-value", "", SECRET[:-1], SECRET + "x", None):
        response = await post(client, update(fake, "u1", "/help"), secret=secret)
        assert response.status_code == 403, secret
    await asyncio.sleep(0.05)
    assert seen == [] and fake.sent("u1") == []
    assert (await post(client, update(fake, "u1", "/help"))).status_code == 200


async def test_webhook_is_post_only(runtime, hook, client):
    response = await client.get("/zalo/webhook", headers={"X-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 405


async def test_webhook_accepts_wrapped_and_flat_bodies(runtime, fake, hook, client):
    flat = update(fake, "flat", "/help")
    wrapped = {"ok": True, "result": update(fake, "wrapped", "/help")}
    for body in (flat, wrapped):
        assert (await post(client, body)).status_code == 200
    for chat in ("flat", "wrapped"):
        (message,) = await fake.wait_sent(chat, 1)
        assert "/start" in message["text"]


MALFORMED = [
    b"not json", b"", b"\xff\xfe", json.dumps([{"event_name": "x"}]).encode(),
    {"ok": True, "result": 1}, {"text": "neither event nor message"},
    {"ok": False, "error_code": 1, "description": "x"},
]


async def test_webhook_rejects_malformed_bodies(runtime, hook, client, monkeypatch):
    seen = handled(runtime, monkeypatch)
    for body in MALFORMED:
        assert (await post(client, body)).status_code == 400, body
    await asyncio.sleep(0.02)
    assert seen == []


async def test_webhook_duplicate_delivery_is_processed_once(runtime, fake, hook, client,
                                                            monkeypatch):
    seen = handled(runtime, monkeypatch)
    body = update(fake, "u1", "/start", message_id="dup-1")
    for wrapped in (body, {"ok": True, "result": body}, body):
        assert (await post(client, wrapped)).status_code == 200
    await fake.wait_sent("u1", 1)
    assert await hook.wait_idle(5)
    welcome = len(fake.sent("u1"))
    await post(client, update(fake, "u1", "1"))  # she goes on: exactly one step
    await fake.wait_sent("u1", welcome + 1)
    assert await hook.wait_idle(5)
    assert "xã/phường nào" in fake.texts("u1")[-1]
    assert seen[0] == "dup-1" and seen.count("dup-1") == 1


async def test_redelivery_after_a_restart_is_dropped_by_message_id(runtime, fake, hook, client):
    body = update(fake, "u1", "/help", message_id="again-1")
    await post(client, body)
    await fake.wait_sent("u1", 1)
    assert await hook.wait_idle(5)
    restarted = ZaloChannel(runtime, token=TOKEN, base_url=fake.base_url, mode="webhook")
    try:
        transport = httpx.ASGITransport(app=restarted.webhook_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zalo.test") as http:
            assert (await post(http, body)).status_code == 200
            assert await restarted.wait_idle(5)
            await post(http, update(fake, "u1", "/help"))
            await fake.wait_sent("u1", 2)
            assert await restarted.wait_idle(5)
    finally:
        await restarted.stop()
    assert len(fake.sent("u1")) == 2  # the redelivered one was not answered again


async def test_webhook_mode_refuses_to_start_without_a_proper_secret(runtime, fake, config):
    for secret in ("", "short", "x" * 257):
        runtime.config = config.with_channel("zalo", webhook_secret=Secret(secret))
        ch = ZaloChannel(runtime, token=TOKEN, base_url=fake.base_url, mode="webhook")
        with pytest.raises(ConfigError, match="ZALO_WEBHOOK_SECRET"):
            await ch.start()
    assert fake.calls == []


async def test_webhook_server_listens_and_answers(runtime, fake, config):
    runtime.config = config.with_channel("zalo", webhook_secret=Secret(SECRET), webhook_port=0)
    ch = ZaloChannel(runtime, token=TOKEN, base_url=fake.base_url, mode="webhook")
    await ch.start()
    try:
        url = f"http://127.0.0.1:{ch.webhook_port}"
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await post(http, update(fake, "u1", "/help"))).status_code == 200
            assert (await post(http, update(fake, "u1", "/help"), secret="nope")).status_code \
                == 403
        await fake.wait_sent("u1", 1)
    finally:
        await ch.stop()
    assert fake.answered("getUpdates") == [] and ch.webhook_port is None


# -- the token in logs --------------------------------------------------------------------------


async def test_the_token_never_appears_in_logs(runtime, fake, caplog):
    caplog.set_level(logging.DEBUG)
    secret_part = TOKEN.split(":")[1]
    fake.fail_next(2, 429, method="getUpdates")
    fake.fail_next(1, 429, method="sendMessage")
    fake.blocked_chats.add("blocked")
    ch = polling(runtime, fake)
    await ch.start()
    try:
        await say(fake, ch, "u1", "/help")
        fake.push_text("blocked", "/help")  # the reply fails: an exception with a traceback
        async with runtime.db.transaction() as conn:
            await q.enqueue(conn, "zalo", "blocked", "Thông báo", "answer", now=runtime.db.clock())
        ch.outbox.wake()
        for _ in range(500):  # a loaded machine may take a while; ends as soon as it is seen
            if any("undeliverable" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.02)
        assert await ch.wait_idle(5)
    finally:
        await ch.stop()
    unreachable = polling(runtime, fake, base_url="http://127.0.0.1:9/bot")
    await unreachable.start()  # getMe and polls fail on the network: warnings, no crash
    await asyncio.sleep(0.1)
    await unreachable.stop()

    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(r.exc_info for r in problems) and len(problems) >= 5  # the run did have errors
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if record.name.startswith(("httpx", "httpcore")):
            # httpx logs request URLs at INFO; in production the RedactTokens filter rewrites
            # them, so check that it covers this token shape.
            text = redact(text)
        assert secret_part not in text, (record.name, text)


async def test_an_event_without_message_id_delivered_twice_is_handled_once(
        runtime, fake, hook, client, monkeypatch):
    seen = handled(runtime, monkeypatch)
    message = fake.message("u9", text="/help")
    message.pop("message_id", None)
    body = {"event_name": "message.text.received", "message": message}
    for _ in range(3):
        assert (await post(client, body)).status_code == 200
    await fake.wait_sent("u9", 1)
    assert await hook.wait_idle(5)
    await asyncio.sleep(0.1)
    assert len(fake.sent("u9")) == 1
    assert len(seen) == 1 and seen[0].startswith("event:")
