"""Self-test of the fake Bot API: real PTB against it, in-process and as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import io
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.fake_bot_api import FakeBotAPI, FakeBotAPIClient, RateLimits

ROOT = Path(__file__).resolve().parents[2]
KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Đồng ý", callback_data="yes"),
            InlineKeyboardButton("Không", callback_data="no"),
        ]
    ]
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()


@contextlib.asynccontextmanager
async def running_app(
    fake: FakeBotAPI, *handlers: BaseHandler[Any, Any, Any]
) -> AsyncIterator[Application]:
    """A real PTB Application polling the fake, started the way the bot starts it."""
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    errors: list[object] = []

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)

    app.add_handlers(list(handlers))
    app.add_error_handler(on_error)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    assert errors == [], f"handler errors: {errors}\n{fake.dump()}"


def bot_for(fake: FakeBotAPI | FakeBotAPIClient, token: str = "123456:TEST") -> Bot:
    return Bot(token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


def button_data(markup: dict[str, Any] | None) -> list[str]:
    assert markup is not None
    return [b["callback_data"] for row in markup["inline_keyboard"] for b in row]


async def test_echo_with_buttons_then_callback_edits(fake: FakeBotAPI) -> None:
    replies: list[Message] = []

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        replies.append(
            await update.message.reply_text(
                f"Bạn nói: {update.message.text}", reply_markup=KEYBOARD
            )
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Đã nhận")
        await query.edit_message_text(f"Bạn chọn: {query.data}")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("Chào mừng")

    handlers = (
        CommandHandler("start", start),
        MessageHandler(filters.TEXT & ~filters.COMMAND, echo),
        CallbackQueryHandler(on_button),
    )
    async with running_app(fake, *handlers):
        fake.push_message(1001, "xin chào")
        [echoed] = await fake.wait_sent(1001, 1)
        assert echoed["method"] == "sendMessage"
        assert echoed["text"] == "Bạn nói: xin chào"
        assert button_data(echoed["reply_markup"]) == ["yes", "no"]
        # PTB parsed our Message JSON back into objects (the fake records before PTB gets it)
        await fake.wait_for(lambda _: len(replies) == 1, what="reply_text to return")
        assert replies[0].message_id == echoed["message_id"]
        assert replies[0].reply_markup is not None
        assert replies[0].reply_markup.inline_keyboard[0][1].callback_data == "no"

        press = fake.push_callback(1001, "no")
        edit = (await fake.wait_sent(1001, 2))[1]
        assert edit["method"] == "editMessageText"
        assert edit["edited"] is True
        assert edit["message_id"] == echoed["message_id"]
        assert edit["text"] == "Bạn chọn: no"
        assert edit["reply_markup"] is None
        answers = [p for m, p in fake.calls if m == "answerCallbackQuery"]
        assert answers == [{"callback_query_id": press["callback_query"]["id"], "text": "Đã nhận"}]

        fake.push_message(1001, "/start")  # needs the auto bot_command entity
        assert (await fake.wait_sent(1001, 3))[2]["text"] == "Chào mừng"


async def test_confirmed_updates_are_never_redelivered_after_restart(fake: FakeBotAPI) -> None:
    handled: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        handled.append(update.update_id)
        await update.message.reply_text("ok")

    first = fake.push_message(7, "một")
    async with running_app(fake, MessageHandler(filters.TEXT, record)):
        await fake.wait_sent(7, 1)
    # PTB confirms with one last getUpdates(offset) on stop
    assert fake.confirmed_upto == first["update_id"] + 1
    assert fake.stats()["updates_pending"] == 0

    second = fake.push_message(7, "hai")  # pushed while no bot runs: must wait for it
    async with running_app(fake, MessageHandler(filters.TEXT, record)):
        await fake.wait_sent(7, 2)
    # updates are handled in order, so a redelivered "một" would show up before "hai"
    assert handled == [first["update_id"], second["update_id"]]


async def test_get_updates_offset_limit_long_poll_and_errors(fake: FakeBotAPI) -> None:
    ids = [fake.push_message(9, f"tin {i}")["update_id"] for i in range(3)]
    async with httpx.AsyncClient(base_url=f"{fake.base_url}{fake.token}/") as http:

        async def updates(**params: Any) -> list[int]:
            body = (await http.post("getUpdates", json=params)).json()
            assert body["ok"] is True, body
            return [u["update_id"] for u in body["result"]]

        assert await updates() == ids
        assert await updates() == ids, "delivering must not confirm"
        form = (await http.post("getUpdates", data={"offset": str(ids[1])})).json()
        assert [u["update_id"] for u in form["result"]] == ids[1:]
        assert fake.stats()["updates_confirmed_upto"] == ids[1]
        assert await updates(offset=ids[1], limit=1) == [ids[1]]
        query = (await http.get("getUpdates", params={"offset": ids[2] + 1})).json()
        assert query == {"ok": True, "result": []}
        assert fake.stats()["updates_pending"] == 0

        started = time.monotonic()
        assert await updates(offset=ids[2] + 1, timeout=0.3) == []
        assert time.monotonic() - started >= 0.25, "long poll returned early"

        held = asyncio.create_task(updates(offset=ids[2] + 1, timeout=5))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        woken = fake.push_message(9, "đánh thức")
        assert await held == [woken["update_id"]]
        assert time.monotonic() - started < 1, "push did not wake the long poll"

        fake.push_raw(woken)  # same update_id again after it was delivered
        assert await updates(offset=woken["update_id"]) == [woken["update_id"]] * 2
        assert await updates(offset=woken["update_id"] + 1) == []

        first_poll = asyncio.create_task(http.post("getUpdates", json={"timeout": 5}))
        await asyncio.sleep(0.05)
        assert await updates(timeout=0) == []
        conflict = await first_poll
        assert conflict.status_code == 409
        assert conflict.json()["description"].startswith("Conflict: terminated by other")

        missing = await http.post("sendSticker", json={"chat_id": 9})
        assert (missing.status_code, missing.json()["description"]) == (
            404,
            "Not Found: method not found",
        )
        wrong = await http.post(f"{fake.base_url}999:WRONG/getMe")
        assert (wrong.status_code, wrong.json()) == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )


# PTB 22 warns that RetryAfter.retry_after will become a timedelta; `seconds()` handles both.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limits_answer_429_and_ptb_raises_retry_after() -> None:
    fake = FakeBotAPI(limits=RateLimits(overall_per_second=5, per_chat_per_second=1, retry_after=2))
    await fake.start()
    try:
        async with bot_for(fake) as bot:
            outcomes = []
            for chat_id in range(1, 13):  # tight loop over distinct chats: overall limit
                try:
                    await bot.send_message(chat_id, "thông báo")
                    outcomes.append("ok")
                except RetryAfter as exc:
                    assert seconds(exc.retry_after) == 2
                    outcomes.append("429")
            assert outcomes == ["ok"] * 5 + ["429"] * 7
            assert [r["chat_id"] for r in fake.sent()] == [1, 2, 3, 4, 5]

            await asyncio.sleep(1.05)  # the window slides
            await bot.send_message(1, "lần hai")
            with pytest.raises(RetryAfter):
                await bot.send_message(1, "lần ba")  # per-chat limit
        assert fake.rate_limited == 8
        assert [r["text"] for r in fake.sent(1)] == ["thông báo", "lần hai"]
        async with httpx.AsyncClient() as http:  # never sync httpx: it would block the fake
            raw = await http.post(
                f"{fake.base_url}{fake.token}/sendMessage", data={"chat_id": "1", "text": "x"}
            )
        assert raw.status_code == 429
        assert raw.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 2",
            "parameters": {"retry_after": 2},
        }
    finally:
        await fake.stop()


async def test_files_commands_and_telegram_errors(fake: FakeBotAPI) -> None:
    async with bot_for(fake) as bot:
        doc = await bot.send_document(
            5, io.BytesIO(b"x" * 300), filename="bao_cao.xlsx", caption="Báo cáo"
        )
        photo = await bot.send_photo(5, io.BytesIO(b"\x89PNG" + b"0" * 96))
        assert doc.document is not None and doc.document.file_name == "bao_cao.xlsx"
        assert photo.photo[-1].file_size == 100
        sent_doc, sent_photo = fake.sent(5)
        assert sent_doc["method"] == "sendDocument" and sent_doc["caption"] == "Báo cáo"
        assert (sent_doc["file"]["filename"], sent_doc["file"]["size"]) == ("bao_cao.xlsx", 300)
        assert (sent_photo["method"], sent_photo["file"]["size"]) == ("sendPhoto", 100)

        assert await bot.set_my_commands([("start", "Bắt đầu"), ("hoi", "Gửi câu hỏi")])
        assert [c.command for c in await bot.get_my_commands()] == ["start", "hoi"]
        assert await bot.send_chat_action(5, "typing")

        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(5, "Lãi suất < 5% & phí", parse_mode="HTML")
        html_ok = await bot.send_message(5, "<b>Lãi</b> &lt; 5%", parse_mode="HTML")
        assert html_ok.text == "Lãi < 5%"
        with pytest.raises(BadRequest, match="reserved"):
            await bot.send_message(5, "Cảm ơn chị.", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(5, "a" * 4097)
        too_long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="đ" * 33)]])
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(5, "chọn", reply_markup=too_long_data)

        menu = await bot.send_message(5, "Chọn", reply_markup=KEYBOARD)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text(
                "Chọn", chat_id=5, message_id=menu.message_id, reply_markup=KEYBOARD
            )
        cleared = await bot.edit_message_reply_markup(chat_id=5, message_id=menu.message_id)
        assert isinstance(cleared, Message) and cleared.reply_markup is None
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=5, message_id=999)

        fake.blocked_chats.add(6)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(6, "Nhắc lịch")
    assert [r["method"] for r in fake.sent(5)][-2:] == ["sendMessage", "editMessageReplyMarkup"]
    assert fake.sent(6) == []


async def test_pushed_updates_parse_in_ptb(fake: FakeBotAPI) -> None:
    bot = bot_for(fake)
    kinds = {
        "sticker": fake.push_sticker(3),
        "photo": fake.push_photo(3, caption="ảnh"),
        "voice": fake.push_voice(3),
        "document": fake.push_document(3),
    }
    for kind, raw in kinds.items():
        message = Update.de_json(raw, bot).message
        assert message is not None and getattr(message, kind), kind
    edited = Update.de_json(
        fake.push_message(3, "sửa lại", edit=True, extra={"has_media_spoiler": False}), bot
    )
    assert edited.edited_message is not None and edited.edited_message.edit_date is not None
    group = Update.de_json(fake.push_message(-100, "chào nhóm", user_id=55, chat_type="group"), bot)
    assert group.effective_chat is not None and group.effective_chat.type == "group"
    assert group.effective_user is not None and group.effective_user.id == 55
    ids = [u["update_id"] for u in kinds.values()]
    assert ids == sorted(ids) and len(set(ids)) == 4


async def test_wait_sent_timeout_dumps_what_happened(fake: FakeBotAPI) -> None:
    async with bot_for(fake) as bot:
        await bot.send_message(5, "một tin")
    with pytest.raises(
        AssertionError, match=r"(?s)2 message\(s\) sent to chat 5.*sendMessage.*một tin"
    ):
        await fake.wait_sent(5, 2, timeout=0.05)


async def test_control_api_in_process(fake: FakeBotAPI) -> None:
    client = FakeBotAPIClient(fake.control_url)
    try:
        pushed = await client.apush_message(11, "qua control API")
        assert fake.stats()["updates_pending"] == 1
        async with bot_for(fake) as bot:
            [update] = await bot.get_updates()
            assert update.update_id == pushed["update_id"]
            await bot.send_message(11, "đã nhận", reply_markup=KEYBOARD)
        press = await client.apush_callback(11, "yes")
        assert press["callback_query"]["message"]["text"] == "đã nhận"
        assert [r["text"] for r in await client.asent(11)] == ["đã nhận"]
        assert [m for m, _ in await client.acalls()][:2] == ["getMe", "getUpdates"]
    finally:
        await client.aclose()


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_subprocess_mode_serves_pushes_and_get_updates(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    command = [
        sys.executable,
        "-m",
        "tests.fakes.fake_bot_api",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--limits",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client: FakeBotAPIClient | None = None
    try:
        client = await FakeBotAPIClient.wait_port_file(port_file, timeout=10)
        pushed = await client.apush_message(42, "xin chào")
        async with bot_for(client) as bot:
            [update] = await bot.get_updates(timeout=1)
            assert update.update_id == pushed["update_id"]
            assert update.message is not None and update.message.text == "xin chào"
            await bot.send_message(42, "đã nhận")
            with pytest.raises(RetryAfter):  # --limits: 1 message per chat per second
                await bot.send_message(42, "lần hai")
            assert (await client.astats())["updates_confirmed_upto"] == 0
            await bot.get_updates(offset=update.update_id + 1)
        [reply] = await client.wait_sent(42, 1)
        assert reply["text"] == "đã nhận"
        sync_client = FakeBotAPIClient(client.base)
        stats = sync_client.stats()
        sync_client.close()
        assert (stats["updates_pending"], stats["rate_limited"]) == (0, 1)
        assert stats["updates_confirmed_upto"] == update.update_id + 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        if client is not None:
            await client.aclose()
    assert proc.returncode is not None
