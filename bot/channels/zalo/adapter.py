"""The Zalo channel: the Zalo Bot API over httpx, a webhook (production) or long polling
(development), numbered text menus.

Zalo has no buttons, so every `Reply` is sent as the dispatcher's numbered text menu and she types
a digit or a keyword back; the dispatcher resolves it against the last menu offered. The API
client is `api.py`, its errors `errors.py`, the parsing of updates `updates.py`.

The bot token sits in the URL path (`…/bot<TOKEN>/sendMessage`), so nothing here ever logs a URL
or puts one in an exception: errors name the API method only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handlers.types import Incoming, Reply

from ...config import ConfigError
from ...outbox import OutboxWorker, RetryLater, Undeliverable, alert_fallback, send_pieces
from ...runtime import Runtime
from .._split import split_text, utf16_units
from .._webhook import WebhookServer, read_capped, secret_ok, too_long, webhook_path
from .api import Backoff, ZaloBotApi
from .errors import (
    ZaloAuthError,
    ZaloError,
    ZaloNetworkError,
    ZaloNotFound,
    ZaloRateLimited,
    ZaloTimeout,
    gone,
)
from .settings import ZaloSettings
from .updates import CHANNEL, Seen, field, parse_update, unwrap_update, update_key

__all__ = ["MAX_TEXT", "ZaloChannel"]

log = logging.getLogger(__name__)

# Zalo caps a message at 2,000 "characters" without saying in what unit: pieces are measured
# in UTF-16 units (an emoji counts 2) and kept 100 under the cap.
MAX_TEXT = 1900
SEND_ATTEMPTS = 3  # a reply is retried in place: she is waiting for it right now
# Zalo gets a 503 (and may send again) if not settled by then: longer than the database's
# busy timeout (5 s) plus her replies, so a slow moment of the disk still ends in a 200.
WEBHOOK_SETTLE_SECONDS = 12.0
SECRET_HEADER = "x-bot-api-secret-token"
# Zalo has no sendDocument; exports are fetched by staff elsewhere.


# -- the channel --------------------------------------------------------------------------------


class ZaloChannel:
    name = CHANNEL

    def __init__(self, runtime: Runtime, *, token: str | None = None,
                 base_url: str | None = None, mode: str | None = None,
                 http: httpx.AsyncClient | None = None, poll_timeout: float = 30,
                 backoff: Backoff | None = None) -> None:
        self.runtime = runtime
        settings: ZaloSettings = runtime.config.channel(CHANNEL)
        self.settings = settings
        self.mode = mode or settings.mode
        if self.mode not in ("polling", "webhook"):
            raise ValueError(f'Zalo mode must be "polling" or "webhook", got {self.mode!r}')
        self.poll_timeout = poll_timeout
        self.backoff = backoff or Backoff()
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()
        self.api = ZaloBotApi(self._http, base_url or settings.base_url,
                              token or settings.token.value)
        self.outbox = OutboxWorker(runtime.db, CHANNEL, self.send_queued,
                                   fallback=alert_fallback(runtime.services.settings,
                                                           runtime.services.locale, CHANNEL))
        self.webhook_app = Starlette(routes=[
            Route(webhook_path(settings.webhook_path), self._on_webhook, methods=["POST"]),
        ])
        self._secret = settings.webhook_secret.value.encode("utf-8")
        # Deliveries are deduplicated per bot. A digest of the token, not the token: known before
        # getMe answers, the same across restarts, different for a new token, and not a secret.
        self.bot_id = "t" + hashlib.sha256(
            (token or settings.token.value).encode("utf-8")).hexdigest()[:16]
        self._seen = Seen()
        self._updates: set[asyncio.Task[None]] = set()
        self._poll_task: asyncio.Task[None] | None = None
        self._outbox_task: asyncio.Task[None] | None = None
        self._server: WebhookServer | None = None

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
        if self._server is not None:
            await self._server.stop(grace)
        self._server = None
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
        return self._server.port if self._server is not None else None

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
        log.info("zalo bot %s ready (%s)", field(me, "account_name", "name", "display_name"),
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
                        self.settings.webhook_path)

    async def _serve_webhook(self) -> None:
        settings = self.settings
        self._server = WebhookServer(self.webhook_app, settings.webhook_host,
                                     settings.webhook_port, CHANNEL)
        await self._server.start()
        log.info("zalo webhook listening on %s:%s%s", settings.webhook_host,
                 self.webhook_port, settings.webhook_path)

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
        if too_long(request.headers.get("content-length")):
            return Response(status_code=413)
        raw = await read_capped(request)
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
        return secret_ok(header, self._secret)

    # -- incoming: both ---------------------------------------------------------------------

    def accept(self, update: Mapping[str, Any]) -> asyncio.Future[None]:
        """Handle one update in its own task, unless its message id was just seen.

        The future is done once the update is settled: stored (its replies may still be on
        their way), or she was told it was not. The webhook answers Zalo only then."""
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = update_key(update)
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
        if self.runtime.db.queued_for(CHANNEL):  # e.g. a danger alert to staff
            self.outbox.wake()

    async def _apologise(self, chat_id: str) -> None:
        try:
            await self.api.send_message(chat_id, self.runtime.services.locale.t("error.internal"))
        except ZaloError as exc:
            log.warning("zalo could not tell the user about the error: %s", exc)

    def to_incoming(self, update: Mapping[str, Any]) -> Incoming | None:
        return parse_update(update, self.bot_id)

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
        if not text:
            return []
        return [piece for piece in split_text(text, MAX_TEXT, utf16_units) if piece.strip()]

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

    async def send_queued(self, chat_id: str, text: str) -> None:
        """The outbox's sender: a long text in pieces, only the rest retried."""
        pieces = [p for p in split_text(text, MAX_TEXT, utf16_units) if p.strip()]
        await send_pieces(pieces, lambda piece: self._queued_piece(chat_id, piece))

    async def _queued_piece(self, chat_id: str, piece: str) -> None:
        """Map Zalo errors to retry later or give up."""
        try:
            await self.api.send_message(chat_id, piece)
        except ZaloRateLimited as exc:
            raise RetryLater(60, str(exc)) from None
        except ZaloNetworkError as exc:
            raise RetryLater(5, str(exc)) from None
        except ZaloAuthError as exc:  # the operator must fix the token; keep the message
            raise RetryLater(300, str(exc)) from None
        except ZaloError as exc:
            if gone(exc):
                raise Undeliverable(str(exc)) from None
            raise RetryLater(30, str(exc)) from None


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
