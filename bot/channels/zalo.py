"""The Zalo channel: the Zalo Bot API over httpx, long polling or a webhook, numbered text menus.

Zalo has no buttons, so every `Reply` is sent as the dispatcher's numbered text menu and she types
a digit or a keyword back; the dispatcher resolves it against the last menu offered. What the API
speaks is summarised in `shared/ZALO_BOT_API.md`; where it is unconfirmed both variants are
accepted (one update or a list from getUpdates, wrapped or flat webhook bodies, `display_name` or
`name`).

The bot token sits in the URL path (`…/bot<TOKEN>/sendMessage`), so nothing here ever logs a URL
or puts one in an exception: errors name the API method only.

Error tree:
    ZaloError(method, code, description)
      ├─ ZaloBadRequest      400
      ├─ ZaloAuthError       401 the token was rejected
      ├─ ZaloForbidden       403
      ├─ ZaloNotFound        404
      ├─ ZaloTimeout         408 an idle long poll: normal, not a failure
      ├─ ZaloRateLimited     429 quota exceeded: back off
      └─ ZaloNetworkError    no answer at all (connect, read timeout, broken connection)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handlers.types import Incoming, Kind, Reply

from ..config import ConfigError
from ..logs import redact
from ..outbox import OutboxWorker, RetryLater, Undeliverable
from ..runtime import Runtime
from ._split import split_text

__all__ = [
    "CHANNEL",
    "Backoff",
    "ZaloAuthError",
    "ZaloBadRequest",
    "ZaloBotApi",
    "ZaloChannel",
    "ZaloError",
    "ZaloForbidden",
    "ZaloNetworkError",
    "ZaloNotFound",
    "ZaloRateLimited",
    "ZaloTimeout",
    "unwrap_update",
]

log = logging.getLogger(__name__)

CHANNEL = "zalo"
MAX_TEXT = 2000
POLL_GRACE = 10.0  # seconds the HTTP read may outlast the server-side long poll
CALL_TIMEOUT = 15.0
SEND_ATTEMPTS = 3  # a reply is retried in place: she is waiting for it right now
# Zalo gets a 503 (and may send again) if not settled by then: longer than the database's
# busy timeout (5 s) plus her replies, so a slow moment of the disk still ends in a 200.
WEBHOOK_SETTLE_SECONDS = 12.0
SEEN_UPDATES = 2048  # message ids remembered in memory to drop duplicate deliveries early
MAX_WEBHOOK_BODY = 1_000_000
SECRET_HEADER = "x-bot-api-secret-token"
ID_CHARS = 128
NAME_CHARS = 100
URL_CHARS = 1000
# Zalo has no sendDocument; exports are fetched by staff elsewhere.

_KINDS = {
    "message.text.received": Kind.TEXT,
    "message.image.received": Kind.PHOTO,
    "message.sticker.received": Kind.STICKER,
    "message.voice.received": Kind.VOICE,
    "message.unsupported.received": Kind.OTHER,
}


# -- errors -------------------------------------------------------------------------------------


class ZaloError(Exception):
    """A failed Bot API call. The text names the method, never the URL (it holds the token)."""

    def __init__(self, method: str, code: int, description: str) -> None:
        self.method = method
        self.code = code
        self.description = redact(description)[:300]
        super().__init__(f"zalo {method} failed: {code} {self.description}".rstrip())


class ZaloBadRequest(ZaloError):
    pass


class ZaloAuthError(ZaloError):
    pass


class ZaloForbidden(ZaloError):
    pass


class ZaloNotFound(ZaloError):
    pass


class ZaloTimeout(ZaloError):
    pass


class ZaloRateLimited(ZaloError):
    pass


class ZaloNetworkError(ZaloError):
    def __init__(self, method: str, description: str) -> None:
        super().__init__(method, 0, description)


_ERRORS: dict[int, type[ZaloError]] = {
    400: ZaloBadRequest,
    401: ZaloAuthError,
    403: ZaloForbidden,
    404: ZaloNotFound,
    408: ZaloTimeout,
    429: ZaloRateLimited,
}


# -- the API client -----------------------------------------------------------------------------


class ZaloBotApi:
    """POST `{base_url}{token}/{method}` with a JSON body; the body's `ok` decides success."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._http = http
        self._prefix = base_url.rstrip("/") + token + "/"

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *,
                   timeout: float = CALL_TIMEOUT) -> Any:
        try:
            response = await self._http.post(
                self._prefix + method, json=dict(params or {}),
                timeout=httpx.Timeout(CALL_TIMEOUT, read=timeout),
            )
        except httpx.TransportError as exc:
            # `from None`: the httpx exception carries the request, whose URL holds the token.
            raise ZaloNetworkError(method, _describe(exc)) from None
        except httpx.HTTPError as exc:
            raise ZaloError(method, 0, _describe(exc)) from None
        return _result(method, response)

    async def get_me(self) -> dict[str, Any]:
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: float) -> list[dict[str, Any]]:
        """Zero or one update (a list is accepted too); an idle poll raises `ZaloTimeout`."""
        result = await self.call("getUpdates", {"timeout": _seconds_text(timeout)},
                                 timeout=timeout + POLL_GRACE)
        items = result if isinstance(result, list) else [result]
        return [item for item in items if isinstance(item, dict)]

    async def send_message(self, chat_id: str, text: str) -> Any:
        # No parse_mode: nothing a member typed can break the formatting.
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        result = await self.call("getWebhookInfo")
        return result if isinstance(result, dict) else {}


def _result(method: str, response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        status = response.status_code
        raise _error(method, status, f"unreadable answer (HTTP {status})")
    if response.is_success and body.get("ok") is True:
        return body.get("result")
    code = body.get("error_code")
    if not isinstance(code, int) or isinstance(code, bool):
        code = response.status_code if not response.is_success else 0
    description = body.get("description")
    raise _error(method, code, description if isinstance(description, str) else "")


def _error(method: str, code: int, description: str) -> ZaloError:
    return _ERRORS.get(code, ZaloError)(method, code, description)


def _describe(exc: Exception) -> str:
    text = str(exc)
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _seconds_text(seconds: float) -> str:
    """The API wants the poll timeout as a string of seconds: 30 → "30"."""
    return f"{seconds:g}"


@dataclass(frozen=True)
class Backoff:
    """Exponential waits after errors: first, 2×first, 4×first … up to cap."""

    first: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.first * 2 ** max(failures - 1, 0))


# -- updates ------------------------------------------------------------------------------------


def unwrap_update(body: Any) -> dict[str, Any] | None:
    """A webhook body as an update: wrapped `{"ok": true, "result": {…}}` or flat; else None."""
    if not isinstance(body, dict):
        return None
    update = body
    if body.get("ok") is True and isinstance(body.get("result"), dict):
        update = body["result"]
    return update if isinstance(update.get("event_name"), str) else None


def _text_id(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, str | int):
        return str(value).strip()[:ID_CHARS]
    return ""


def _field(mapping: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = mapping.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _content(event: str, message: Mapping[str, Any]) -> tuple[Kind, str, str]:
    kind = _KINDS.get(event)
    if kind is None:
        log.info("zalo event %r is not known; answered as an unsupported message", event[:60])
        return Kind.OTHER, "", ""
    if kind is Kind.TEXT:
        text = message.get("text")
        return kind, text if isinstance(text, str) else "", ""
    if kind is Kind.PHOTO:
        return kind, _field(message, "caption"), _field(message, "photo_url", "photo")[:URL_CHARS]
    if kind is Kind.VOICE:
        return kind, "", _field(message, "voice_url")[:URL_CHARS]
    return kind, "", ""


def _update_key(update: Mapping[str, Any]) -> str:
    """The message id; for an event without one, a digest of the event itself, so that the same
    event delivered twice is still handled once."""
    key = _text_id(_mapping(update.get("message")).get("message_id"))
    if key:
        return key
    canonical = json.dumps(update, sort_keys=True, ensure_ascii=False, default=str,
                           separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return "event:" + digest


class _Seen:
    """A bounded memory of recent message ids; the dispatcher keeps the durable record."""

    def __init__(self, size: int = SEEN_UPDATES) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The service owns SIGINT/SIGTERM and stops every channel; uvicorn must not take them.
        yield


# -- the channel --------------------------------------------------------------------------------


class ZaloChannel:
    def __init__(self, runtime: Runtime, *, token: str | None = None,
                 base_url: str | None = None, mode: str | None = None,
                 http: httpx.AsyncClient | None = None, poll_timeout: float = 30,
                 backoff: Backoff | None = None) -> None:
        self.runtime = runtime
        config = runtime.config
        self.mode = mode or config.zalo_mode
        if self.mode not in ("polling", "webhook"):
            raise ValueError(f'Zalo mode must be "polling" or "webhook", got {self.mode!r}')
        self.poll_timeout = poll_timeout
        self.backoff = backoff or Backoff()
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()
        self.api = ZaloBotApi(self._http, base_url or config.zalo_base_url,
                              token or config.zalo_token.value)
        self.outbox = OutboxWorker(runtime.db, CHANNEL, self._send_text)
        self.webhook_app = Starlette(routes=[
            Route(_webhook_path(config.zalo_webhook_path), self._on_webhook, methods=["POST"]),
        ])
        self._secret = config.zalo_webhook_secret.value.encode("utf-8")
        # Deliveries are deduplicated per bot. A digest of the token, not the token: known before
        # getMe answers, the same across restarts, different for a new token, and not a secret.
        self.bot_id = "t" + hashlib.sha256(
            (token or config.zalo_token.value).encode("utf-8")).hexdigest()[:16]
        self._seen = _Seen()
        self._updates: set[asyncio.Task[None]] = set()
        self._poll_task: asyncio.Task[None] | None = None
        self._outbox_task: asyncio.Task[None] | None = None
        self._server: uvicorn.Server | None = None
        self._server_task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            if self.mode == "webhook":
                self._check_secret()
            await self._check_token()
            if self.mode == "webhook":
                await self._warn_without_webhook()
                await self._serve_webhook()
            else:
                await self._drop_webhook()
                self._poll_task = asyncio.create_task(self._poll_loop(), name="zalo-poll")
            self._outbox_task = asyncio.create_task(self.outbox.run(), name="zalo-outbox")
        except BaseException:
            await self.stop()
            raise

    async def stop(self, grace: float = 5.0) -> None:
        await _cancel(self._poll_task)
        self._poll_task = None
        if self._server is not None and self._server_task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._server_task), grace)
            await _cancel(self._server_task)
        self._server = self._server_task = None
        # Updates in hand finish (their transaction and reply) before the client closes.
        if not await self.wait_idle(grace):
            for task in list(self._updates):
                task.cancel()
            await asyncio.gather(*self._updates, return_exceptions=True)
        await _cancel(self._outbox_task)
        self._outbox_task = None
        if self._owns_http:
            await self._http.aclose()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for updates being handled; False if some were still running at the timeout."""
        if not self._updates:
            return True
        _, pending = await asyncio.wait(set(self._updates), timeout=timeout)
        return not pending

    @property
    def webhook_port(self) -> int | None:
        """The port the webhook listens on (useful when configured as 0)."""
        if self._server is None or not self._server.servers:
            return None
        return self._server.servers[0].sockets[0].getsockname()[1]

    def _check_secret(self) -> None:
        if not 8 <= len(self._secret.decode("utf-8")) <= 256:
            raise ConfigError(
                'zalo.mode = "webhook" needs ZALO_WEBHOOK_SECRET (8–256 characters) in the '
                "environment, the same secret_token given to setWebhook; the Zalo channel "
                "is not started without it"
            )

    async def _check_token(self) -> None:
        try:
            me = await self.api.get_me()
        except ZaloAuthError as exc:
            raise ConfigError(f"Zalo rejected ZALO_BOT_TOKEN ({exc}); set a valid bot token") \
                from None
        except ZaloError as exc:  # Zalo unreachable now is no reason not to start
            log.warning("zalo getMe failed, starting anyway: %s", exc)
            return
        log.info("zalo bot %s ready (%s)", _field(me, "account_name", "name", "display_name"),
                 self.mode)

    async def _drop_webhook(self) -> None:
        # Polling and webhook are mutually exclusive: a webhook left behind starves getUpdates.
        try:
            await self.api.delete_webhook()
        except ZaloError as exc:
            log.info("zalo deleteWebhook before polling: %s", exc)

    async def _warn_without_webhook(self) -> None:
        try:
            url = (await self.api.get_webhook_info()).get("url")
        except ZaloNotFound:  # measured: 404 when no webhook is set
            url = ""
        except ZaloError as exc:
            log.info("zalo getWebhookInfo: %s", exc)
            return
        if not url:
            log.warning("zalo: no webhook is registered, so no updates will arrive; call "
                        "setWebhook with the public https URL of %s and ZALO_WEBHOOK_SECRET",
                        self.runtime.config.zalo_webhook_path)

    async def _serve_webhook(self) -> None:
        config = self.runtime.config
        server = _EmbeddedServer(uvicorn.Config(
            self.webhook_app, host=config.zalo_webhook_host, port=config.zalo_webhook_port,
            log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=3,
        ))
        self._server = server
        self._server_task = asyncio.create_task(server.serve(), name="zalo-webhook")
        while not server.started:
            if self._server_task.done():
                with contextlib.suppress(BaseException):
                    self._server_task.result()  # uvicorn exits via SystemExit on bind errors
                raise OSError(f"zalo webhook could not listen on "
                              f"{config.zalo_webhook_host}:{config.zalo_webhook_port}")
            await asyncio.sleep(0.01)
        log.info("zalo webhook listening on %s:%s%s", config.zalo_webhook_host,
                 self.webhook_port, config.zalo_webhook_path)

    # -- incoming: polling ------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                updates = await self.api.get_updates(self.poll_timeout)
            except ZaloTimeout:
                failures = 0  # idle: nobody wrote during the poll
                if loop.time() - began < self.poll_timeout / 2:
                    # A server answering "idle" at once would otherwise be polled in a tight loop.
                    await asyncio.sleep(self.backoff.first)
                continue
            except ZaloError as exc:
                failures += 1
                wait = self.backoff.delay(failures)
                level = logging.ERROR if isinstance(exc, ZaloAuthError) else logging.WARNING
                log.log(level, "zalo polling paused %.1fs: %s", wait, exc)
                await asyncio.sleep(wait)
                continue
            except Exception:  # a bug here must not end polling for good
                failures += 1
                log.exception("zalo polling failed")
                await asyncio.sleep(self.backoff.delay(failures))
                continue
            failures = 0
            for update in updates:
                self.accept(update)

    # -- incoming: webhook ------------------------------------------------------------------

    async def _on_webhook(self, request: Request) -> Response:
        if not self._secret_ok(request.headers.get(SECRET_HEADER)):
            return Response(status_code=403)
        if _too_long(request.headers.get("content-length")):
            return Response(status_code=413)
        raw = await _read_capped(request, MAX_WEBHOOK_BODY)
        if raw is None:  # chunked or lying about its length: stopped at the cap, not read whole
            return Response(status_code=413)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than any update
            body = None
        update = unwrap_update(body)
        if update is None:
            log.info("zalo webhook body is not an update; answered 400")
            return JSONResponse({"ok": False}, status_code=400)
        settled = self.accept(update)
        try:
            # 200 only once her message is stored or she was told it was not: an answer
            # before that would lose the message if the bot died in between (Zalo would not
            # deliver it again).
            await asyncio.wait_for(asyncio.shield(settled), WEBHOOK_SETTLE_SECONDS)
        except Exception:
            return JSONResponse({"ok": False}, status_code=503)
        return JSONResponse({"ok": True})

    def _secret_ok(self, header: str | None) -> bool:
        if header is None or not self._secret:
            return False
        # Starlette decodes headers as latin-1; re-encoding gives the bytes Zalo sent.
        return hmac.compare_digest(header.encode("latin-1", "replace"), self._secret)

    # -- incoming: both ---------------------------------------------------------------------

    def accept(self, update: Mapping[str, Any]) -> asyncio.Future[None]:
        """Handle one update in its own task, unless its message id was just seen.

        The future is done once the update is settled: stored (its replies may still be on
        their way), or she was told it was not. The webhook answers Zalo only then."""
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = _update_key(update)
        if key and not self._seen.first_time(key):
            log.info("zalo duplicate delivery %s dropped", key)
            settled.set_result(None)
            return settled
        task = asyncio.create_task(self._handle(update, settled),
                                   name=f"zalo-update-{key or '?'}")
        self._updates.add(task)
        task.add_done_callback(self._updates.discard)
        return settled

    async def _handle(self, update: Mapping[str, Any],
                      settled: asyncio.Future[None] | None = None) -> None:
        def settle() -> None:
            if settled is not None and not settled.done():
                settled.set_result(None)

        incoming = self.to_incoming(update)
        if incoming is None:
            settle()
            return

        async def deliver(replies: list[Reply]) -> None:
            if not any(reply.awaited for reply in replies):
                settle()  # committed: Zalo may have its 200 while the replies go out
            await self.send_replies(incoming.chat_id, replies)
            await self.runtime.dispatcher.delivered(replies)
            settle()  # "not stored, send it again" was sent: she knows

        try:
            await self.runtime.dispatcher.handle(incoming, deliver)
            settle()
        except Exception:
            log.exception("zalo update %s failed", incoming.update_key or "?")
            await self._apologise(incoming.chat_id)
            if settled is not None and not settled.done():
                settled.set_exception(ConnectionError("update not handled"))
                settled.exception()  # retrieved: the webhook may have stopped waiting
        self.outbox.wake()

    async def _apologise(self, chat_id: str) -> None:
        try:
            await self.api.send_message(chat_id, self.runtime.services.locale.t("error.internal"))
        except ZaloError as exc:
            log.warning("zalo could not tell the user about the error: %s", exc)

    def to_incoming(self, update: Mapping[str, Any]) -> Incoming | None:
        event = update.get("event_name")
        event = event if isinstance(event, str) else ""
        message = update.get("message")
        if not isinstance(message, Mapping):
            log.info("zalo %s without a message ignored", event[:60] or "update")
            return None
        sender = _mapping(message.get("from"))
        chat = _mapping(message.get("chat"))
        user_id = _text_id(sender.get("id"))
        chat_id = _text_id(chat.get("id")) or user_id  # private chats: chat id = user id
        if not chat_id:
            log.info("zalo %s without a chat id ignored", event[:60] or "update")
            return None
        kind, text, media = _content(event, message)
        chat_type = chat.get("chat_type")
        return Incoming(
            channel=CHANNEL, chat_id=chat_id, user_id=user_id or chat_id, kind=kind, text=text,
            media_url=media, display_name=_field(sender, "display_name", "name")[:NAME_CHARS],
            update_key=_update_key(update), bot=self.bot_id,
            is_group=isinstance(chat_type, str) and chat_type.upper() == "GROUP",
        )

    # -- outgoing ---------------------------------------------------------------------------

    async def send_replies(self, chat_id: str, replies: Sequence[Reply]) -> None:
        for reply in replies:
            for piece in self._pieces(reply):
                await self._send_piece(chat_id, piece)

    def _pieces(self, reply: Reply) -> list[str]:
        if reply.image:
            # sendPhoto takes a public URL only; the chart is left out on Zalo.
            log.debug("zalo: image reply skipped (sendPhoto needs a URL)")
        text = self.runtime.dispatcher.render_text(reply)
        if reply.document:
            note = self.runtime.services.locale.t("zalo.document_note", name=reply.document[0])
            text = f"{text}\n\n{note}" if text else note
        return [piece for piece in split_text(text, MAX_TEXT) if piece.strip()] if text else []

    async def _send_piece(self, chat_id: str, text: str) -> None:
        """Send now, retrying a 429 or network failure briefly; she is waiting for it."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self.api.send_message(chat_id, text)
                return
            except (ZaloRateLimited, ZaloNetworkError) as exc:
                if attempt == SEND_ATTEMPTS:
                    raise
                wait = self.backoff.delay(attempt)
                log.warning("zalo sendMessage retried in %.1fs: %s", wait, exc)
                await asyncio.sleep(wait)

    async def _send_text(self, chat_id: str, text: str) -> None:
        """The outbox's sender: map Zalo errors to retry later or give up."""
        try:
            for piece in split_text(text, MAX_TEXT):
                if piece.strip():
                    await self.api.send_message(chat_id, piece)
        except ZaloRateLimited as exc:
            raise RetryLater(60, str(exc)) from None
        except ZaloNetworkError as exc:
            raise RetryLater(5, str(exc)) from None
        except ZaloAuthError as exc:  # the operator must fix the token; keep the message
            raise RetryLater(300, str(exc)) from None
        except ZaloError as exc:
            if _gone(exc):
                raise Undeliverable(str(exc)) from None
            raise RetryLater(30, str(exc)) from None


async def _read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None as soon as it passes `cap` bytes (whatever Content-Length said)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_long(content_length: str | None) -> bool:
    try:
        return int(content_length or 0) > MAX_WEBHOOK_BODY
    except ValueError:
        return False


def _webhook_path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _gone(exc: ZaloError) -> bool:
    """True when retrying cannot help: a bad request, an unknown chat, a refusal about the user.

    The API lists 403 as a server error, so a 403 gives up only when it names the chat or user.
    """
    if isinstance(exc, ZaloBadRequest | ZaloNotFound):
        return True
    words = ("chat", "user", "block", "allow", "permission")
    return isinstance(exc, ZaloForbidden) and any(w in exc.description.lower() for w in words)


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
