"""A fake Telegram Bot API server for tests and benches.

The real PTB ``Application`` talks HTTP to it exactly as it would to api.telegram.org (see
docs TECH_NOTES §1), so tests exercise PTB's wire format, offsets and error mapping instead of
mocks. Two ways to run it:

* in-process: ``fake = FakeBotAPI(); await fake.start()`` in the test's event loop, then use
  ``push_*`` / ``sent`` / ``wait_*`` directly;
* separate process (crash tests, benches):
  ``python -m tests.fakes.fake_bot_api --port 0 --port-file PATH [--limits]`` and drive it with
  :class:`FakeBotAPIClient` over the ``/_control/*`` HTTP API (also served in-process).

Besides the happy path it reproduces the Telegram behaviours bots trip over in production:
offset confirmation, long polling, ``409 Conflict`` for a second poller, 429 flood control,
``message is not modified``, unparsable HTML/MarkdownV2, 4096-char and 64-byte callback-data
limits, a blocked user (``blocked_chats``) and the inline keyboard vanishing on a text edit
without ``reply_markup``.

Webhooks too: after ``setWebhook`` the fake POSTs each update to the URL with the
``X-Telegram-Bot-Api-Secret-Token`` header, as Telegram does: up to ``max_connections`` at once,
one at a time per chat, and again (after ``webhook_retry_seconds``) until it gets a 200;
``getUpdates`` answers 409 while a webhook is set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import html
import itertools
import json
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

JSON = dict[str, Any]

# PTB sends str values verbatim and JSON-dumps everything else, so a text like "123" or "[1]"
# must not be JSON-decoded back into a number or list.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "action",
        "url",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "photo",
        "document",
        "secret_token",
    }
)
_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_CALLBACK_DATA_BYTES = 64
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_HTML_TAG = re.compile(
    r"</?(?:b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|a|code|pre|blockquote|tg-emoji)"
    r"(?:\s[^<>]*)?>",
    re.IGNORECASE,
)
_HTML_UNESCAPED = re.compile(r"<|&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
_MD2_MUST_ESCAPE = frozenset(".!#+-={}")


class _EscapedJSON(JSONResponse):
    """JSON with non-ASCII escaped, as a server must when a text holds a lone surrogate
    ("\\ud800"): such a text cannot be written as UTF-8, only as an escape."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


@dataclass
class RateLimits:
    """Telegram's flood limits; enforced only when passed to :class:`FakeBotAPI`."""

    overall_per_second: int = 30
    per_chat_per_second: int = 1
    retry_after: int = 1


class _ApiError(Exception):
    """A Bot API error reply: HTTP status == error_code, as Telegram does."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> JSONResponse:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return JSONResponse(body, status_code=self.code)


@dataclass
class _SlidingWindow:
    """Monotonic timestamps of calls accepted during the last second."""

    limit: int
    stamps: deque[float] = field(default_factory=deque)

    def full(self, now: float) -> bool:
        while self.stamps and now - self.stamps[0] >= 1.0:
            self.stamps.popleft()
        return len(self.stamps) >= self.limit


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Inside pytest, Ctrl-C must stop the test run, not just this fake server.
        yield


def _utf16_len(text: str) -> int:
    # Telegram measures entity offsets/lengths in UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def _decode_param(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


async def _read_params(request: Request) -> JSON:
    """Bot API params from query string, JSON, urlencoded or multipart bodies alike."""
    raw: JSON = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        decoded = {k: _decode_param(k, v) for k, v in raw.items()}
        return decoded | (json.loads(body) if body else {})
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form() as form:
            for key, value in form.multi_items():
                raw[key] = await _file_info(value) if isinstance(value, UploadFile) else value
    return {k: _decode_param(k, v) for k, v in raw.items()}


async def _file_info(upload: UploadFile) -> JSON:
    content = await upload.read()
    return {"filename": upload.filename, "size": len(content),
            "content_type": upload.content_type, "sha256": hashlib.sha256(content).hexdigest()}


def _chat_id_of(params: JSON) -> int | str | None:
    chat_id = params.get("chat_id")
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        return int(chat_id)
    return chat_id


def _html_to_plain(text: str) -> str:
    """The plain text Telegram keeps for parse_mode=HTML; rejects what Telegram rejects."""
    stripped = _HTML_TAG.sub("", text)
    bad = _HTML_UNESCAPED.search(stripped)
    if bad:
        raise _ApiError(
            400,
            f"Bad Request: can't parse entities: unsupported tag or unescaped {bad.group()!r} "
            f"(escape user text with html.escape)",
        )
    return html.unescape(stripped)


def _check_markdown_v2(text: str) -> None:
    """Catches the classic MarkdownV2 mistake (unescaped '.', '-', '!' ...), not a full parser."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        closing = "```" if text.startswith("```", i) else "`" if text[i] == "`" else None
        if closing is None and text.startswith("](", i):
            closing = ")"
        if closing is not None:
            start = i + (3 if closing == "```" else 1 if closing == "`" else 2)
            end = text.find(closing, start)
            if end < 0:
                raise _ApiError(
                    400,
                    f"Bad Request: can't parse entities: Can't find end of the "
                    f"entity starting at offset {i}",
                )
            i = end + len(closing)
            continue
        if text[i] in _MD2_MUST_ESCAPE:
            raise _ApiError(
                400,
                f"Bad Request: can't parse entities: Character '{text[i]}' is "
                f"reserved and must be escaped with the preceding '\\'",
            )
        i += 1


def _visible_text(text: str, parse_mode: str | None) -> str:
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _html_to_plain(text)
    if mode == "markdownv2":
        _check_markdown_v2(text)
    return text


def _check_reply_markup(markup: Any) -> None:
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(data.encode()) > _MAX_CALLBACK_DATA_BYTES:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _inline_markup(markup: Any) -> JSON | None:
    # Telegram echoes only inline keyboards on a Message; PTB would choke on a reply keyboard.
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


class FakeBotAPI:
    """A Bot API server holding its state in memory; see module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST",
        limits: RateLimits | None = None,
        bot_username: str = "doithoai_test_bot",
    ) -> None:
        self.token = token
        self.limits = limits
        self.bot_username = bot_username
        bot_id = token.split(":", 1)[0]
        self.bot_id = int(bot_id) if bot_id.isdigit() else 123456
        self.calls: list[tuple[str, JSON]] = []
        self.rate_limited = 0
        self.blocked_chats: set[int] = set()  # sends to these get 403 "bot was blocked"
        # chat id -> how many more sendMessage calls to it succeed before ONE is refused with
        # 400 (a fault no retry cures the same way: "can't parse entities", a bad markup)
        self.refuse_text_after: dict[int, int] = {}
        self.confirmed_upto = 0  # highest getUpdates offset seen
        self.port = 0
        self._pending: deque[JSON] = deque()  # unconfirmed updates, ascending update_id
        self._redeliver: deque[JSON] = deque()  # re-pushed old update_ids, delivered once
        self._next_update_id = 1
        self._wakeup = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._sent: list[JSON] = []
        self._sent_by_chat: dict[int | str | None, list[JSON]] = {}
        self._messages: dict[tuple[int | str, int], JSON] = {}  # bot messages, for edits
        self._last_bot_message: dict[int | str, int] = {}
        self._last_user_message: dict[int, int] = {}
        self._message_ids: dict[int | str, Iterator[int]] = {}
        self._chats: dict[int | str, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._ids = itertools.count(1)  # callback query and file ids
        # Files members sent whose bytes getFile and /file/bot<token>/<path> give back:
        # file_id → (file_path, content).
        self.files: dict[str, tuple[str, bytes]] = {}
        self._commands: dict[str, list[JSON]] = {}
        self._overall = _SlidingWindow(limits.overall_per_second if limits else 0)
        self._per_chat: dict[int | str, _SlidingWindow] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self.webhook: JSON = {}  # url, secret_token, max_connections once setWebhook was called
        self.webhook_retry_seconds = 0.2
        self.webhook_posts: list[tuple[int, int]] = []  # (update_id, HTTP status) per POST
        self._deliverer: asyncio.Task[None] | None = None
        self._methods: dict[str, tuple[str, Callable[[JSON], Awaitable[Any]]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }
        self.app = self._build_app()

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0, *, handle_signals: bool = False) -> None:
        """Serve on 127.0.0.1 in the running loop; returns once connections are accepted."""
        self._loop = asyncio.get_running_loop()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server_cls = uvicorn.Server if handle_signals else _InProcessServer
        self._server = server_cls(config)
        self._serve_task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()  # bind failures surface here (SystemExit)
                raise RuntimeError("fake Bot API server exited during startup")
            await asyncio.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None or self._serve_task is None:
            return
        self._closing = True  # held long polls return now instead of blocking shutdown
        self._notify()
        if self._deliverer is not None:
            self._deliverer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._deliverer
            self._deliverer = None
        self._server.should_exit = True
        await asyncio.wait_for(self._serve_task, timeout=5)
        self._server = self._serve_task = None

    async def serve_until_stopped(self) -> None:
        if self._serve_task is not None:
            await self._serve_task

    # ------------------------------------------------------------ injecting updates

    def push_raw(self, update: JSON) -> JSON:
        """Queue an update; an already used update_id is delivered again (duplicate delivery)."""
        update_id = update.get("update_id")
        if update_id is None:
            update["update_id"] = update_id = self._next_update_id
        if update_id < self._next_update_id:
            self._redeliver.append(update)
        else:
            self._pending.append(update)
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._notify()
        return update

    def push_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        *,
        first_name: str = "Lan",
        chat_type: str = "private",
        edit: bool = False,
        extra: JSON | None = None,
    ) -> JSON:
        content: JSON = {"text": text}
        if text.startswith("/") and text.strip():
            command = text.split()[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        message_id = self._last_user_message.get(chat_id) if edit else None
        message = self._user_message(
            chat_id, user_id, first_name, chat_type, content, message_id=message_id
        )
        if edit:
            message["edit_date"] = int(time.time())
        message.update(extra or {})
        return self.push_raw({"edited_message" if edit else "message": message})

    def push_callback(
        self, chat_id: int, data: str, user_id: int | None = None, message_id: int | None = None
    ) -> JSON:
        """A button press; by default on the bot's latest message offering a button with ``data``
        (else its latest message), like a user tapping what is on screen."""
        message_id = message_id or self._message_with_button(chat_id, data)
        message = self._messages.get((chat_id, message_id)) if message_id else None
        if message is None:  # pressed on a message this fake never saw: invent it
            message = self._store_bot_message(chat_id, {"text": "…"}, message_id)
        query = {
            "id": str(next(self._ids)),
            "from": self._user(chat_id, user_id),
            "chat_instance": f"ci{chat_id}",
            "data": data,
            "message": dict(message),
        }
        return self.push_raw({"callback_query": query})

    def push_sticker(self, chat_id: int, user_id: int | None = None) -> JSON:
        sticker = self._file_fields() | {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._push_media(chat_id, user_id, {"sticker": sticker})

    def push_photo(
        self, chat_id: int, user_id: int | None = None, *, caption: str | None = None
    ) -> JSON:
        sizes = [self._file_fields() | {"width": w, "height": w} for w in (90, 320, 1280)]
        return self._push_media(chat_id, user_id, {"photo": sizes}, caption)

    def push_voice(
        self, chat_id: int, user_id: int | None = None, *, content: bytes | None = None,
        caption: str | None = None,
    ) -> JSON:
        """A voice message (the Bot API allows a caption on it); with `content`, getFile and
        the file download give those bytes."""
        voice = self._file_fields() | {"duration": 3, "mime_type": "audio/ogg"}
        if content is not None:
            voice["file_size"] = len(content)
            self.files[voice["file_id"]] = (f"voice/file_{voice['file_unique_id']}.oga", content)
        return self._push_media(chat_id, user_id, {"voice": voice}, caption)

    def push_document(
        self,
        chat_id: int,
        user_id: int | None = None,
        *,
        file_name: str = "tai_lieu.pdf",
        caption: str | None = None,
    ) -> JSON:
        document = self._file_fields() | {"file_name": file_name, "mime_type": "application/pdf"}
        return self._push_media(chat_id, user_id, {"document": document}, caption)

    # -------------------------------------------------------------------- observing

    def sent(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent or edited (edits have ``edited: True``), oldest first."""
        return list(self._sent if chat_id is None else self._sent_by_chat.get(chat_id, ()))

    def stats(self) -> JSON:
        return {
            "rate_limited": self.rate_limited,
            "updates_pending": len(self._pending) + len(self._redeliver),
            "updates_confirmed_upto": self.confirmed_upto,
            "calls": len(self.calls),
            "sent": len(self._sent),
        }

    async def wait_for(
        self, predicate: Callable[[FakeBotAPI], bool], timeout: float = 5.0, what: str = ""
    ) -> None:
        """Poll ``predicate(self)``; on timeout fail with a dump of what the bot did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            if loop.time() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or predicate!r}\n{self.dump()}"
                )
            await asyncio.sleep(0.005)

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 5.0) -> list[JSON]:
        await self.wait_for(
            lambda fake: len(fake._sent_by_chat.get(chat_id, ())) >= count,
            timeout,
            what=f"{count} message(s) sent to chat {chat_id}",
        )
        return self.sent(chat_id)

    def dump(self, last: int = 15) -> str:
        """A human-readable summary for assertion messages."""
        lines = [f"stats: {self.stats()}", f"last {last} calls:"]
        lines += [f"  {m} {_short(p)}" for m, p in self.calls[-last:]]
        lines.append("sent per chat:")
        for chat_id, records in list(self._sent_by_chat.items())[-last:]:
            texts = [r["text"] or r["caption"] for r in records[-3:]]
            lines.append(f"  {chat_id}: {len(records)} msg(s), last: {_short(texts)}")
        return "\n".join(lines)

    # ------------------------------------------------------------------- internals

    def _notify(self) -> None:
        """Wake held getUpdates; safe from other threads (benches may push from one)."""
        try:
            in_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            in_loop = False
        if in_loop or self._loop is None or self._loop.is_closed():
            self._wake()
        else:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        # Waiters hold the old event; swapping avoids a clear() racing a slow waiter.
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def _message_with_button(self, chat_id: int, data: str, lookback: int = 200) -> int | None:
        last = self._last_bot_message.get(chat_id)
        if last is None:
            return None
        for message_id in range(last, max(last - lookback, 0), -1):
            markup = self._messages.get((chat_id, message_id), {}).get("reply_markup") or {}
            rows = markup.get("inline_keyboard", [])
            if any(button.get("callback_data") == data for row in rows for button in row):
                return message_id
        return last

    def _next_message_id(self, chat_id: int | str) -> int:
        # One sequence per chat shared by both sides, as in Telegram private chats.
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _user(self, chat_id: int, user_id: int | None, first_name: str | None = None) -> JSON:
        user_id = chat_id if user_id is None else user_id
        known = self._users.get(user_id)
        if known is None or (first_name and known["first_name"] != first_name):
            known = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name or "Lan",
                "language_code": "vi",
            }
            self._users[user_id] = known
        return known

    def _chat(self, chat_id: int | str, chat_type: str | None = None, name: str = "Lan") -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None or (chat_type and chat["type"] != chat_type):
            if chat_type is None:
                chat_type = "private" if isinstance(chat_id, int) and chat_id > 0 else "group"
            chat = {"id": chat_id, "type": chat_type}
            chat |= {"first_name": name} if chat_type == "private" else {"title": f"Nhóm {chat_id}"}
            self._chats[chat_id] = chat
        return chat

    def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        first_name: str,
        chat_type: str | None,
        content: JSON,
        message_id: int | None = None,
    ) -> JSON:
        if message_id is None:
            message_id = self._next_message_id(chat_id)
            self._last_user_message[chat_id] = message_id
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type, first_name),
            "from": self._user(chat_id, user_id, first_name),
            **content,
        }

    def _push_media(
        self, chat_id: int, user_id: int | None, content: JSON, caption: str | None = None
    ) -> JSON:
        if caption is not None:
            content["caption"] = caption
        message = self._user_message(chat_id, user_id, "Lan", None, content)
        return self.push_raw({"message": message})

    def _file_fields(self) -> JSON:
        n = next(self._ids)
        return {"file_id": f"FILE{n}", "file_unique_id": f"U{n}", "file_size": 1000 + n}

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Đối thoại",
            "username": self.bot_username,
        }

    def _store_bot_message(
        self, chat_id: int | str, content: JSON, message_id: int | None = None
    ) -> JSON:
        message = {
            "message_id": message_id or self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            **content,
        }
        self._messages[(chat_id, message["message_id"])] = message
        self._last_bot_message[chat_id] = message["message_id"]
        return message

    def _record(self, method: str, message: JSON | None, params: JSON, **extra: Any) -> None:
        chat_id = message["chat"]["id"] if message else _chat_id_of(params)
        record = {
            "method": method,
            "chat_id": chat_id,
            "message_id": message["message_id"] if message else params.get("message_id"),
            "text": params.get("text", message.get("text") if message else None),
            "caption": params.get("caption"),
            "reply_markup": params.get("reply_markup"),
            "parse_mode": params.get("parse_mode"),
            "edited": False,
            "file": None,
        } | extra
        self._sent.append(record)
        self._sent_by_chat.setdefault(chat_id, []).append(record)

    def _check_rate(self, chat_id: int | str | None) -> None:
        # Called only for calls that produce or change a message (send*/edit*): chat actions
        # and callback answers are not messages and Telegram documents no limit for them.
        if self.limits is None:
            return
        now = time.monotonic()
        chat_window = None
        if chat_id is not None:
            chat_window = self._per_chat.get(chat_id)
            if chat_window is None:
                chat_window = self._per_chat[chat_id] = _SlidingWindow(
                    self.limits.per_chat_per_second
                )
        if self._overall.full(now) or (chat_window is not None and chat_window.full(now)):
            self.rate_limited += 1
            wait = self.limits.retry_after
            raise _ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        self._overall.stamps.append(now)
        if chat_window is not None:
            chat_window.stamps.append(now)

    def _target_chat(self, params: JSON) -> int | str:
        chat_id = _chat_id_of(params)
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    # ------------------------------------------------------------ Bot API methods

    def _method_table(self) -> dict[str, Callable[[JSON], Awaitable[Any]]]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "close": self._true,
            "logOut": self._true,
        }

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook:
            raise _ApiError(409, _WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older held poll must now answer 409, as Telegram does
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        while True:
            batch = self._take_updates(offset, limit)
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return batch
            wakeup = self._wakeup
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), remaining)
            if self._poll_generation != generation:
                raise _ApiError(409, _CONFLICT)

    def _take_updates(self, offset: int, limit: int) -> list[JSON]:
        if offset < 0:  # Telegram: keep only the last -offset updates, forget the rest
            while len(self._pending) > -offset:
                self._pending.popleft()
        elif offset > 0:
            self.confirmed_upto = max(self.confirmed_upto, offset)
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        batch: list[JSON] = []
        while self._redeliver and len(batch) < limit:
            batch.append(self._redeliver.popleft())
        batch.extend(itertools.islice(self._pending, limit - len(batch)))
        return batch

    async def _delete_webhook(self, params: JSON) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._pending.clear()
            self._redeliver.clear()
            self.confirmed_upto = self._next_update_id
        return True

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        if params.get("drop_pending_updates"):
            self._pending.clear()
            self._redeliver.clear()
        self.webhook = {"url": url, "secret_token": str(params.get("secret_token") or ""),
                        "max_connections": int(params.get("max_connections") or 40),
                        "allowed_updates": params.get("allowed_updates")}
        if self._deliverer is None or self._deliverer.done():
            self._deliverer = asyncio.create_task(self._deliver_webhooks())
        self._notify()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                      "pending_update_count": len(self._pending) + len(self._redeliver)}
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
        return info

    async def _deliver_webhooks(self) -> None:
        """POST pending updates to the webhook until each got a 200, in order per chat."""
        loop = asyncio.get_running_loop()
        in_flight: dict[int, Any] = {}  # update_id → chat
        retry_at: dict[int, float] = {}
        posting: set[asyncio.Task[None]] = set()
        # aiohttp, not httpx: a bench posts thousands of updates, and httpx's CPU per call
        # would make the fake, not the bot, the bottleneck.
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            while self.webhook and not self._closing:
                slots = self.webhook["max_connections"] - len(in_flight)
                blocked = set(in_flight.values())
                now = loop.time()
                for queue in (self._redeliver, self._pending):
                    for update in queue:
                        if slots <= 0:
                            break
                        chat = _update_chat(update)
                        uid = update["update_id"]
                        if uid in in_flight or chat in blocked or retry_at.get(uid, 0) > now:
                            blocked.add(chat)  # later updates of this chat wait for it
                            continue
                        blocked.add(chat)
                        in_flight[uid] = chat
                        slots -= 1
                        task = asyncio.create_task(self._post_update(
                            http, update, queue, in_flight, retry_at))
                        posting.add(task)
                        task.add_done_callback(posting.discard)
                wakeup = self._wakeup
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), self.webhook_retry_seconds)

    async def _post_update(self, http: aiohttp.ClientSession, update: JSON, queue: deque[JSON],
                           in_flight: dict[int, Any], retry_at: dict[int, float]) -> None:
        uid = update["update_id"]
        status = 0
        try:
            async with http.post(
                    self.webhook["url"], data=json.dumps(update, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json",
                             "X-Telegram-Bot-Api-Secret-Token": self.webhook["secret_token"]},
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, KeyError):
            status = 0
        finally:
            self.webhook_posts.append((uid, status))
            if status == 200:
                with contextlib.suppress(ValueError):
                    queue.remove(update)
                self.confirmed_upto = max(self.confirmed_upto, uid + 1)
                retry_at.pop(uid, None)
            else:
                retry_at[uid] = asyncio.get_running_loop().time() + self.webhook_retry_seconds
            in_flight.pop(uid, None)
            self._wake()

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: commands not found")
        self._commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return self._commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _send_message(self, params: JSON) -> JSON:
        text = params.get("text")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        visible = _visible_text(str(text), params.get("parse_mode"))
        if len(visible) > _MAX_TEXT:
            raise _ApiError(400, "Bad Request: message is too long")
        chat = _chat_id_of(params)
        if isinstance(chat, int) and chat in self.refuse_text_after:
            if self.refuse_text_after[chat] == 0:
                del self.refuse_text_after[chat]
                raise _ApiError(400, "Bad Request: can't parse entities")
            self.refuse_text_after[chat] -= 1
        return self._send("sendMessage", params, {"text": visible})

    async def _send_photo(self, params: JSON) -> JSON:
        return self._send_file("sendPhoto", "photo", params)

    async def _send_document(self, params: JSON) -> JSON:
        return self._send_file("sendDocument", "document", params)

    def _send_file(self, method: str, field_name: str, params: JSON) -> JSON:
        file = params.get(field_name)
        if not file:
            raise _ApiError(400, f"Bad Request: there is no {field_name} in the request")
        # A str is a file_id/URL being re-sent; a dict is an uploaded multipart part.
        file_info = file if isinstance(file, dict) else {"file_id": file}
        fields = self._file_fields() | {"file_size": file_info.get("size") or 0}
        if field_name == "photo":
            content: JSON = {"photo": [fields | {"width": 800, "height": 600}]}
        else:
            name = file_info.get("filename") or "file"
            content = {"document": fields | {"file_name": name}}
        caption = params.get("caption")
        if caption:
            visible = _visible_text(str(caption), params.get("parse_mode"))
            if len(visible) > _MAX_CAPTION:
                raise _ApiError(400, "Bad Request: message caption is too long")
            content["caption"] = visible
        return self._send(method, params, content, file=file_info)

    def _send(self, method: str, params: JSON, content: JSON, **extra: Any) -> JSON:
        chat_id = self._target_chat(params)
        _check_reply_markup(params.get("reply_markup"))
        self._check_rate(chat_id)
        markup = _inline_markup(params.get("reply_markup"))
        if markup:
            content["reply_markup"] = markup
        message = self._store_bot_message(chat_id, content)
        self._record(method, message, params, **extra)
        return message

    def _message_to_edit(self, params: JSON) -> JSON | None:
        if params.get("inline_message_id"):
            return None
        chat_id = self._target_chat(params)
        message = self._messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return message

    async def _edit_message_text(self, params: JSON) -> JSON | bool:
        text = params.get("text")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        visible = _visible_text(str(text), params.get("parse_mode"))
        if len(visible) > _MAX_TEXT:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        return self._edit("editMessageText", params, visible, params.get("reply_markup"))

    async def _edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        return self._edit("editMessageReplyMarkup", params, None, params.get("reply_markup"))

    def _edit(self, method: str, params: JSON, text: str | None, markup: Any) -> JSON | bool:
        """Apply an edit; ``text=None`` keeps the current text (reply-markup-only edit)."""
        message = self._message_to_edit(params)
        _check_reply_markup(markup)
        new_markup = _inline_markup(markup)
        if message is not None:
            text = message.get("text") if text is None else text
            if (message.get("text"), message.get("reply_markup")) == (text, new_markup):
                raise _ApiError(400, _NOT_MODIFIED)
        self._check_rate(_chat_id_of(params))
        if message is None:  # inline message: Telegram answers True
            self._record(method, None, params, edited=True)
            return True
        message.pop("reply_markup", None)
        message |= {"text": text, "edit_date": int(time.time())}
        if new_markup:
            message["reply_markup"] = new_markup
        self._record(method, message, params, edited=True)
        return message

    async def _answer_callback_query(self, params: JSON) -> bool:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query_id is empty")
        return True

    async def _get_file(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        path, content = self.files[file_id]
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": len(content),
                "file_path": path}

    async def _send_chat_action(self, params: JSON) -> bool:
        self._target_chat(params)
        return True

    # --------------------------------------------------------------- HTTP plumbing

    def _build_app(self) -> Starlette:
        control = [
            Route("/_control/push", self._ctl_push, methods=["POST"]),
            Route("/_control/push_message", self._ctl_push_message, methods=["POST"]),
            Route("/_control/push_messages", self._ctl_push_messages, methods=["POST"]),
            Route("/_control/push_callback", self._ctl_push_callback, methods=["POST"]),
            Route("/_control/sent", self._ctl_sent, methods=["GET"]),
            Route("/_control/calls", self._ctl_calls, methods=["GET"]),
            Route("/_control/stats", self._ctl_stats, methods=["GET"]),
        ]
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._bot_endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file_endpoint, methods=["GET"]),
                *control,
            ]
        )

    async def _bot_endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return _ApiError(401, "Unauthorized").response()
        name = request.path_params["method"]
        method, handler = self._methods.get(name.lower(), (name, None))
        try:
            params = await _read_params(request)
        except ValueError as error:  # malformed JSON body
            return _ApiError(400, f"Bad Request: {error}").response()
        self.calls.append((method, params))
        if handler is None:
            return _ApiError(404, "Not Found: method not found").response()
        try:
            result = await handler(params)
        except _ApiError as error:
            return error.response()
        except (ValueError, TypeError, AttributeError) as error:
            # A param of the wrong type: answer like Telegram rather than a bare HTTP 500.
            return _ApiError(400, f"Bad Request: {type(error).__name__}: {error}").response()
        return _EscapedJSON({"ok": True, "result": result})

    async def _file_endpoint(self, request: Request) -> Response:
        """A download of a file getFile named (a path from another token is a 401)."""
        if request.path_params["token"] != self.token:
            return _ApiError(401, "Unauthorized").response()
        path = request.path_params["path"]
        self.calls.append(("file", {"file_path": path}))
        found = next((c for p, c in self.files.values() if p == path), None)
        if found is None:
            return _ApiError(404, "Not Found").response()
        return Response(found, media_type="application/octet-stream")

    async def _ctl_push(self, request: Request) -> JSONResponse:
        return JSONResponse(self.push_raw(await request.json()))

    async def _ctl_push_message(self, request: Request) -> JSONResponse:
        return _control_call(self.push_message, await request.json())

    async def _ctl_push_messages(self, request: Request) -> JSONResponse:
        specs = await request.json()
        try:
            return JSONResponse([self.push_message(**spec) for spec in specs])
        except TypeError as error:
            return JSONResponse({"error": str(error)}, status_code=400)

    async def _ctl_push_callback(self, request: Request) -> JSONResponse:
        return _control_call(self.push_callback, await request.json())

    async def _ctl_sent(self, request: Request) -> JSONResponse:
        chat_id = _chat_id_of(dict(request.query_params))
        return JSONResponse(self.sent(chat_id))  # type: ignore[arg-type]

    async def _ctl_calls(self, request: Request) -> JSONResponse:
        return JSONResponse([[method, params] for method, params in self.calls])

    async def _ctl_stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.stats())


def _update_chat(update: JSON) -> Any:
    for kind in ("message", "edited_message"):
        if kind in update:
            return update[kind].get("chat", {}).get("id")
    query = update.get("callback_query")
    if query:
        return (query.get("message") or {}).get("chat", {}).get("id")
    return None


def _control_call(push: Callable[..., JSON], kwargs: JSON) -> JSONResponse:
    try:
        return JSONResponse(push(**kwargs))
    except TypeError as error:  # wrong/missing keyword from the client
        return JSONResponse({"error": str(error)}, status_code=400)


def _short(value: Any, width: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


# ------------------------------------------------------------------ control client


@dataclass
class _Req:
    method: str
    path: str
    json: Any = None
    params: JSON | None = None


class FakeBotAPIClient:
    """Drives a fake in another process via ``/_control/*``; ``a``-prefixed methods are async."""

    def __init__(self, base: str, timeout: float = 10.0) -> None:
        self.base = base.rstrip("/").removesuffix("/bot")
        self.base_url = f"{self.base}/bot"
        self.base_file_url = f"{self.base}/file/bot"
        self._timeout = timeout
        self._sync: httpx.Client | None = None
        self._async: httpx.AsyncClient | None = None

    @classmethod
    def from_port_file(
        cls, path: str | os.PathLike[str], timeout: float = 10.0
    ) -> FakeBotAPIClient:
        """Block until the server process wrote its port, then connect."""
        deadline = time.monotonic() + timeout
        while (port := _read_port(path)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no port in {path} after {timeout}s")
            time.sleep(0.02)
        return cls(f"http://127.0.0.1:{port}")

    @classmethod
    async def wait_port_file(
        cls, path: str | os.PathLike[str], timeout: float = 10.0
    ) -> FakeBotAPIClient:
        deadline = time.monotonic() + timeout
        while (port := _read_port(path)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no port in {path} after {timeout}s")
            await asyncio.sleep(0.02)
        return cls(f"http://127.0.0.1:{port}")

    # request descriptions shared by the sync and async halves
    @staticmethod
    def _push_message_req(chat_id: int, text: str, user_id: int | None = None, **kw: Any) -> _Req:
        return _Req(
            "POST",
            "/_control/push_message",
            {"chat_id": chat_id, "text": text, "user_id": user_id, **kw},
        )

    @staticmethod
    def _push_callback_req(
        chat_id: int, data: str, user_id: int | None = None, message_id: int | None = None
    ) -> _Req:
        body = {"chat_id": chat_id, "data": data, "user_id": user_id, "message_id": message_id}
        return _Req("POST", "/_control/push_callback", body)

    @staticmethod
    def _sent_req(chat_id: int | None = None) -> _Req:
        return _Req(
            "GET", "/_control/sent", params=None if chat_id is None else {"chat_id": chat_id}
        )

    # sync
    def push_raw(self, update: JSON) -> JSON:
        return self._send(_Req("POST", "/_control/push", update))

    def push_message(self, chat_id: int, text: str, user_id: int | None = None, **kw: Any) -> JSON:
        return self._send(self._push_message_req(chat_id, text, user_id, **kw))

    def push_messages(self, specs: list[JSON]) -> list[JSON]:
        return self._send(_Req("POST", "/_control/push_messages", specs))

    def push_callback(
        self, chat_id: int, data: str, user_id: int | None = None, message_id: int | None = None
    ) -> JSON:
        return self._send(self._push_callback_req(chat_id, data, user_id, message_id))

    def sent(self, chat_id: int | None = None) -> list[JSON]:
        return self._send(self._sent_req(chat_id))

    def calls(self) -> list[tuple[str, JSON]]:
        return [(m, p) for m, p in self._send(_Req("GET", "/_control/calls"))]

    def stats(self) -> JSON:
        return self._send(_Req("GET", "/_control/stats"))

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()

    # async
    async def apush_raw(self, update: JSON) -> JSON:
        return await self._asend(_Req("POST", "/_control/push", update))

    async def apush_message(
        self, chat_id: int, text: str, user_id: int | None = None, **kw: Any
    ) -> JSON:
        return await self._asend(self._push_message_req(chat_id, text, user_id, **kw))

    async def apush_messages(self, specs: list[JSON]) -> list[JSON]:
        return await self._asend(_Req("POST", "/_control/push_messages", specs))

    async def apush_callback(
        self, chat_id: int, data: str, user_id: int | None = None, message_id: int | None = None
    ) -> JSON:
        return await self._asend(self._push_callback_req(chat_id, data, user_id, message_id))

    async def asent(self, chat_id: int | None = None) -> list[JSON]:
        return await self._asend(self._sent_req(chat_id))

    async def acalls(self) -> list[tuple[str, JSON]]:
        return [(m, p) for m, p in await self._asend(_Req("GET", "/_control/calls"))]

    async def astats(self) -> JSON:
        return await self._asend(_Req("GET", "/_control/stats"))

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 5.0) -> list[JSON]:
        deadline = time.monotonic() + timeout
        while len(sent := await self.asent(chat_id)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(sent)}/{count} message(s) sent to chat {chat_id} after {timeout}s; "
                    f"stats: {await self.astats()}"
                )
            await asyncio.sleep(0.02)
        return sent

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()

    def _send(self, req: _Req) -> Any:
        if self._sync is None:
            self._sync = httpx.Client(base_url=self.base, timeout=self._timeout)
        response = self._sync.request(req.method, req.path, json=req.json, params=req.params)
        response.raise_for_status()
        return response.json()

    async def _asend(self, req: _Req) -> Any:
        if self._async is None:
            self._async = httpx.AsyncClient(base_url=self.base, timeout=self._timeout)
        response = await self._async.request(req.method, req.path, json=req.json, params=req.params)
        response.raise_for_status()
        return response.json()


def _read_port(path: str | os.PathLike[str]) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text else None


# ------------------------------------------------------------ separate-process mode


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here once ready")
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--bot-username", default="doithoai_test_bot")
    parser.add_argument("--limits", action="store_true", help="enforce Telegram flood limits")
    parser.add_argument("--overall-per-second", type=int, default=RateLimits.overall_per_second)
    parser.add_argument("--per-chat-per-second", type=int, default=RateLimits.per_chat_per_second)
    parser.add_argument("--retry-after", type=int, default=RateLimits.retry_after)
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    limits = None
    if args.limits:
        limits = RateLimits(args.overall_per_second, args.per_chat_per_second, args.retry_after)
    fake = FakeBotAPI(args.token, limits, args.bot_username)
    await fake.start(args.port, handle_signals=True)  # SIGTERM shuts down gracefully
    if args.port_file:
        # Write-then-rename so a reader never sees a half-written file.
        tmp = Path(f"{args.port_file}.tmp")
        tmp.write_text(str(fake.port))
        tmp.replace(args.port_file)
    print(f"fake Bot API listening on {fake.control_url}", flush=True)
    await fake.serve_until_stopped()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
