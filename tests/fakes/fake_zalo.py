"""A fake Zalo Bot API server on 127.0.0.1 for tests (never talks to the real Zalo).

It speaks what `shared/ZALO_BOT_API.md` describes: `POST /bot<TOKEN>/<method>` with a JSON body,
`{"ok": true, "result": …}` or `{"ok": false, "error_code": N, "description": …}` with the same
HTTP status; getUpdates hands out ONE update per call (no offsets), long-polls up to `timeout`
seconds and answers an idle poll with 408; sendMessage refuses texts over 2000 characters.

    fake = FakeZalo(); await fake.start()        # serves in the running event loop, port 0
    fake.push_text("u1", "xin chào")             # what a member sends
    await fake.wait_sent("u1", 1, timeout=5)     # what the bot sent back
    fake.fail_next(2, 429, method="getUpdates")  # quota exceeded for the next two polls
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["TOKEN", "Call", "FakeZalo"]

JSON = dict[str, Any]

# "<bot_id>:<secret>", shaped like a real token so log redaction is exercised for real.
TOKEN = "3141592653589793:ZaloFakeSecret_abcdefghijklmnop"
MAX_TEXT = 2000
MAX_POLL = 60.0


@dataclass(frozen=True)
class Call:
    method: str
    params: JSON
    status: int  # HTTP status the fake answered with
    at: float  # time.monotonic() when it arrived


@dataclass
class _Failure:
    remaining: int
    code: int
    http_status: int
    description: str
    method: str | None


class _ApiError(Exception):
    def __init__(self, code: int, description: str, http_status: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.http_status = http_status or code


class _InProcessServer(uvicorn.Server):
    """uvicorn without its 0.1 s ticks and shutdown pause: a test run starts dozens of these."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_now = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Inside pytest, Ctrl-C must stop the test run, not just this fake server.
        yield

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the default headers once
        await self.exit_now.wait()

    async def shutdown(self, sockets: Any = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + 1.0
        while (self.server_state.connections or self.server_state.tasks) and \
                time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()


class FakeZalo:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.calls: list[Call] = []
        self.blocked_chats: set[str] = set()  # sendMessage to these: 403 "user blocked the bot"
        self.updates_as_list = False  # getUpdates result as [update] (an unconfirmed variant)
        self.webhook: JSON = {}
        self.port = 0
        self._updates: deque[JSON] = deque()
        self._arrived = asyncio.Event()
        self._failures: list[_Failure] = []
        self._sent: dict[str, list[JSON]] = {}
        self._sent_changed = asyncio.Event()
        self._ids = itertools.count(1)
        self._closing = False
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.files: dict[str, bytes] = {}  # what a voice link serves (`file_url`)
        self.app = Starlette(routes=[
            Route("/bot{token}/{method}", self._endpoint, methods=["POST"]),
            Route("/files/{name}", self._file, methods=["GET"]),
        ])

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def file_url(self, name: str) -> str:
        """A voice link as a message carries it (Zalo's own servers; here, this fake)."""
        return f"http://127.0.0.1:{self.port}/files/{name}"

    async def _file(self, request: Request) -> Response:
        content = self.files.get(request.path_params["name"])
        if content is None:
            return Response(status_code=404)
        return Response(content, media_type="audio/aac")

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = _InProcessServer(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("fake Zalo server exited during startup")
            await asyncio.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._closing = True  # held long polls return now instead of delaying shutdown
        self._arrived.set()
        self._server.should_exit = True
        self._server.exit_now.set()
        await asyncio.wait_for(self._task, timeout=5)
        self._server = self._task = None

    # -- what members send ------------------------------------------------------------------

    def push_text(
        self, chat_id: str, text: str, user_id: str | None = None, message_id: str | None = None
    ) -> JSON:
        message = self.message(chat_id, user_id=user_id, message_id=message_id, text=text)
        return self.push_event("message.text.received", message)

    def push_event(self, event_name: str, message: JSON | None) -> JSON:
        """Queue an update as is; `message` may be None (unsupported events can lack it)."""
        update: JSON = {"event_name": event_name}
        if message is not None:
            update["message"] = message
        self._updates.append(update)
        self._arrived.set()
        return update

    def message(
        self,
        chat_id: str,
        *,
        user_id: str | None = None,
        message_id: str | None = None,
        chat_type: str = "PRIVATE",
        **fields: Any,
    ) -> JSON:
        """A message object as Zalo sends it; extra fields (text, voice_url …) are added."""
        return {
            "from": {"id": user_id or chat_id, "display_name": "Lan", "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat_type},
            "message_id": message_id or f"m{next(self._ids):020x}",
            "date": int(time.time() * 1000),
            **fields,
        }

    # -- what the bot sent ------------------------------------------------------------------

    def sent(self, chat_id: str) -> list[JSON]:
        """Messages and photos sent to `chat_id`, oldest first."""
        return list(self._sent.get(chat_id, []))

    def texts(self, chat_id: str) -> list[str]:
        return [m["text"] for m in self.sent(chat_id) if "text" in m]

    async def wait_sent(self, chat_id: str, count: int, timeout: float = 5.0) -> list[JSON]:
        """Wait until at least `count` messages were sent to `chat_id`; all of them."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self._sent.get(chat_id, [])) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(self.sent(chat_id))} of {count} messages sent to {chat_id}: "
                    f"{self.texts(chat_id)!r}"
                )
            self._sent_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent_changed.wait(), remaining)
        return self.sent(chat_id)

    def answered(self, method: str, status: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and status in (None, c.status)]

    # -- misbehaving ------------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        code: int = 429,
        *,
        method: str | None = None,
        http_status: int | None = None,
        description: str = "",
    ) -> None:
        """Answer the next `count` calls (of `method`, or any) with an error.

        `http_status=200` sends the `ok: false` body with HTTP 200, which must still fail.
        """
        self._failures.append(
            _Failure(
                count,
                code,
                http_status or code,
                description or _DESCRIPTIONS.get(code, "Error"),
                method,
            )
        )

    # -- the HTTP side ----------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        arrived = time.monotonic()
        try:
            params = await _params(request)
        except _ApiError as exc:
            return self._answer(method, {}, arrived, exc)
        if request.path_params["token"] != self.token:
            return self._answer(method, params, arrived, _ApiError(401, "Unauthorized"))
        failure = self._take_failure(method)
        if failure is not None:
            return self._answer(method, params, arrived, failure)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return self._answer(method, params, arrived, _ApiError(404, "Method not found"))
        try:
            result = await handler(params, request)
        except _ApiError as exc:
            return self._answer(method, params, arrived, exc)
        body: JSON = {"ok": True}
        if result is not None:
            body["result"] = result
        self.calls.append(Call(method, params, 200, arrived))
        return JSONResponse(body)

    def _answer(self, method: str, params: JSON, arrived: float, exc: _ApiError) -> JSONResponse:
        self.calls.append(Call(method, params, exc.http_status, arrived))
        body = {"ok": False, "error_code": exc.code, "description": exc.description}
        return JSONResponse(body, status_code=exc.http_status)

    def _take_failure(self, method: str) -> _ApiError | None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.method in (None, method):
                failure.remaining -= 1
                return _ApiError(failure.code, failure.description, failure.http_status)
        return None

    # -- methods ----------------------------------------------------------------------------

    async def _m_getMe(self, params: JSON, request: Request) -> JSON:
        return {
            "id": self.bot_id,
            "account_name": "doithoai_bot",
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def _m_getUpdates(self, params: JSON, request: Request) -> Any:
        timeout = _number(params.get("timeout", 30), "timeout")
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_POLL)
        while not self._closing:
            if self._updates:
                if await request.is_disconnected():  # do not hand an update to a dead poll
                    break
                update = self._updates.popleft()
                return [update] if self.updates_as_list else update
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._arrived.clear()
            # Short slices so a poll whose client went away stops waiting soon.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.05))
            if await request.is_disconnected():
                break
        raise _ApiError(408, "Request timeout")

    async def _m_sendMessage(self, params: JSON, request: Request) -> JSON:
        chat_id = _chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            size = len(text) if isinstance(text, str) else "no"
            raise _ApiError(400, f"Bad Request: text must be 1-{MAX_TEXT} characters, got {size}")
        if params.get("parse_mode") not in (None, "markdown", "html"):
            raise _ApiError(400, "Bad Request: unsupported parse_mode")
        return self._record(chat_id, {"text": text, "parse_mode": params.get("parse_mode")})

    async def _m_sendPhoto(self, params: JSON, request: Request) -> JSON:
        chat_id = _chat(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: photo must be a URL")
        caption = params.get("caption") or ""
        if not isinstance(caption, str) or len(caption) > MAX_TEXT:
            raise _ApiError(400, "Bad Request: caption too long")
        return self._record(chat_id, {"photo": photo, "caption": caption})

    async def _m_sendChatAction(self, params: JSON, request: Request) -> None:
        _chat(params)
        if params.get("action") != "typing":
            raise _ApiError(400, "Bad Request: action must be typing")
        return None

    async def _m_setWebhook(self, params: JSON, request: Request) -> JSON:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: url must be https")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise _ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": _now_ms()}
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    async def _m_deleteWebhook(self, params: JSON, request: Request) -> JSON:
        self.webhook = {}
        return {"url": "", "updated_at": _now_ms()}

    async def _m_getWebhookInfo(self, params: JSON, request: Request) -> JSON:
        if not self.webhook:  # measured by zalo-bot-mcp: 404 when no webhook is set
            raise _ApiError(404, "Not Found")
        return {"url": self.webhook["url"], "updated_at": self.webhook["updated_at"]}

    def _record(self, chat_id: str, fields: JSON) -> JSON:
        if chat_id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: user blocked the bot")
        result = {"message_id": f"b{next(self._ids):020x}", "date": _now_ms()}
        self._sent.setdefault(chat_id, []).append({"chat_id": chat_id, **fields, **result})
        self._sent_changed.set()
        return result


_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Server error",
    404: "Not Found",
    408: "Request timeout",
    429: "Quota exceeded",
}


async def _params(request: Request) -> JSON:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _ApiError(400, "Bad Request: body is not JSON") from None
    if not isinstance(body, dict):
        raise _ApiError(400, "Bad Request: body must be a JSON object")
    return body


def _chat(params: JSON) -> str:
    chat_id = params.get("chat_id")
    if not isinstance(chat_id, str) or not chat_id:
        raise _ApiError(400, "Bad Request: chat_id must be a non-empty string")
    return chat_id


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Bad Request: {name} must be a number of seconds") from None


def _now_ms() -> int:
    return int(time.time() * 1000)
