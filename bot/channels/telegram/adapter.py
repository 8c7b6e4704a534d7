"""The Telegram channel: python-telegram-bot 22, a webhook (production) or long polling
(development and small installs), inline keyboards.

It only translates: a Telegram update becomes an `Incoming`, each `Reply` becomes a message with
inline buttons. Text is sent without parse mode, so nothing a member types can break formatting.

Both ways of receiving confirm an update to Telegram only once it is settled (stored, or she was
told it was not): polling by moving the offset past it, the webhook by answering 200. Telegram
sends again what was not confirmed; a redelivered update is dropped by `_handled` here and by
`processed_updates` in the database (Dispatcher), so it is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Iterator, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import (
    BotCommand,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    ExtBot,
    TypeHandler,
)

from handlers.types import Incoming, Kind, Reply

from ...outbox import OutboxWorker, RetryLater, Undeliverable, alert_fallback, send_pieces
from ...runtime import Runtime
from .._split import split_text
from .._webhook import WebhookServer, read_capped, secret_ok, too_long, webhook_path
from ..base import StartFailed
from ..fair_limiter import FairRateLimiter
from .files import FILE_PREFIX, file_url
from .http import AiohttpRequest
from .settings import TelegramSettings, check_webhook_secret

__all__ = ["TelegramChannel"]

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
HANDLED_IN_MEMORY = 10_000
REDELIVERIES = 5  # times an update that was neither handled nor answered is asked for again
MAX_BUTTON = 60  # characters; long topic names are cut on the button, shown whole in text
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Telegram gets a 503 (and sends again) if not settled by then: longer than the database's
# busy timeout (5 s) plus her replies, as for Zalo.
WEBHOOK_SETTLE_SECONDS = 12.0

COMMANDS = (
    ("start", "Gửi câu hỏi mới"),
    ("cua_toi", "Câu hỏi của tôi và tình trạng trả lời"),
    ("huy", "Dừng việc đang làm"),
    ("help", "Hướng dẫn"),
    ("xoa_du_lieu", "Xóa thông tin cá nhân của tôi"),
    ("rut_dong_y", "Rút đồng ý lưu thông tin nhạy cảm"),
)


class _Bot(ExtBot):
    """PTB's bot, plus sending a message without reading back what Telegram returns.

    `send_message` turns Telegram's answer (the whole message, keyboard included) into PTB
    objects the bot never looks at; with the keyboard built as objects too, that was a fifth of
    the bot's CPU per message (bench/throughput.py). Same request, rate limiter and errors.
    """

    async def send_text(self, chat_id: int | str, text: str,
                        reply_markup: dict | None = None) -> None:
        await self._post("sendMessage", {"chat_id": chat_id, "text": text,
                                         "reply_markup": reply_markup})


class TelegramChannel:
    name = CHANNEL

    def __init__(self, runtime: Runtime, *, token: str | None = None, base_url: str | None = None,
                 rate_limit: bool = True, concurrent_updates: int | bool = 256,
                 mode: str | None = None) -> None:
        self.runtime = runtime
        settings: TelegramSettings = runtime.config.channel(CHANNEL)
        self.settings = settings
        self.mode = mode or settings.mode
        if self.mode not in ("polling", "webhook"):
            raise ValueError(f'Telegram mode must be "polling" or "webhook", got {self.mode!r}')
        base = (base_url or settings.base_url).rstrip("/")
        limiter = None
        if rate_limit:
            # One message every 1/29.5 s, no burst (a burst makes Telegram's sliding window
            # answer 429: bench/notify.py measured 84 % of the cap with one, 96 % without), and
            # the next slot to whoever has been sent least (bench/flood.py).
            limiter = FairRateLimiter(per_second=29.5, max_retries=3)
        # PTB's default pool is one connection: replies to many women would queue on it.
        self._requests = (AiohttpRequest(pool_size=32, pool_timeout=10),
                          AiohttpRequest(read_timeout=10))
        bot = _Bot(
            token or settings.token.value,
            base_url=base,
            base_file_url=file_url(base),
            request=self._requests[0],
            get_updates_request=self._requests[1],
            rate_limiter=limiter,
        )
        # We poll ourselves (see _poll), so PTB's Updater is not built.
        builder = ApplicationBuilder().bot(bot).updater(None)
        self.app: Application = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)
        self.outbox = OutboxWorker(runtime.db, CHANNEL, self.send_queued,
                                   send_photo=self._send_photo,
                                   send_document=self._send_document,
                                   fallback=alert_fallback(runtime.services.settings,
                                                           runtime.services.locale, CHANNEL))
        self.username = ""
        # Update ids are unique per bot only: a new token starts them afresh. The part of the
        # token before ":" is the bot's public numeric id (what getMe calls `id`).
        self.bot_id = (token or settings.token.value).partition(":")[0]
        self.concurrent = bool(concurrent_updates)
        self._running = False
        self._offset: int | None = None
        self._unfinished: set[int] = set()  # update ids of this batch not handled nor told
        # Replies waiting to be sent, per chat and in order. Handling an update ends at its
        # commit, not when Telegram has taken every reply: a burst of senders is committed and
        # confirmed at once, so a woman writing just after it is read at once too.
        self._replies: dict[str, deque[tuple[list[Reply], asyncio.Future[None]]]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._retries: Counter[int] = Counter()
        self._handled: OrderedDict[int, None] = OrderedDict()  # recent update ids done here
        self._secret = settings.webhook_secret.value.encode("utf-8")
        self.webhook_app = Starlette(routes=[
            Route(webhook_path(settings.webhook_path), self._on_webhook, methods=["POST"]),
        ])
        self._server: WebhookServer | None = None
        self._webhook_updates: set[asyncio.Task[bool]] = set()

    # -- lifecycle (manual start: runs beside other channels in one event loop) ---------------

    async def start(self, poll_timeout: int = 30, poll_interval: float = 0.0) -> None:
        try:
            try:
                await self._start(poll_timeout, poll_interval)
            except InvalidToken as exc:
                raise StartFailed(f"Telegram refused TELEGRAM_BOT_TOKEN ({exc}); set the token "
                                  "@BotFather gave") from None
            except NetworkError as exc:  # TimedOut included
                raise StartFailed(f"Telegram unreachable at {_host(self.settings.base_url)} "
                                  f"({type(exc).__name__}: {exc})") from None
        except BaseException:
            # Telegram unreachable or the token refused: close what was opened, or aiohttp
            # complains of unclosed sessions at exit and hides the one message that matters.
            with contextlib.suppress(Exception):
                await self.stop()
            for request in self._requests:
                with contextlib.suppress(Exception):
                    await request.shutdown()
            raise

    async def _start(self, poll_timeout: int, poll_interval: float) -> None:
        if self.mode == "webhook":
            check_webhook_secret(self.settings)  # before any call: nothing half started
        await self.app.initialize()
        self.username = (self.app.bot.username or "").lower()
        await self.app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        if self.mode == "polling":
            await self.app.bot.delete_webhook(drop_pending_updates=False)
        await self.app.start()
        self._running = True
        if self.mode == "webhook":
            await self._warn_without_webhook()
            settings = self.settings
            self._server = WebhookServer(self.webhook_app, settings.webhook_host,
                                         settings.webhook_port, CHANNEL)
            await self._server.start()
            log.info("telegram webhook listening on %s:%s%s", settings.webhook_host,
                     self.webhook_port, settings.webhook_path)
        else:
            # Not app.create_task: Application.stop() waits for those, and these never end.
            self._poll_task = asyncio.create_task(self._poll(poll_timeout, poll_interval),
                                                  name="telegram-poll")
        self._outbox_task = asyncio.create_task(self.outbox.run(), name="telegram-outbox")

    @property
    def webhook_port(self) -> int | None:
        """The port the webhook listens on (useful when configured as 0)."""
        return self._server.port if self._server is not None else None

    async def _warn_without_webhook(self) -> None:
        try:
            info = await self.app.bot.get_webhook_info()
        except TelegramError as exc:
            log.info("telegram getWebhookInfo: %s", exc)
            return
        expected = self.settings.webhook_url
        if not info.url or (expected and info.url != expected):
            log.warning("telegram: the webhook registered with Telegram is %s, not this bot's "
                        "[telegram] webhook_url; no updates will arrive until "
                        "`python -m bot webhook set --channel telegram`",
                        "missing" if not info.url else "another URL")

    async def stop(self) -> None:
        self._running = False
        if self._server is not None:  # requests in hand finish: their updates get settled
            await self._server.stop()
            self._server = None
        if self._webhook_updates:
            await asyncio.wait(set(self._webhook_updates), timeout=10)
        for name in ("_poll_task", "_outbox_task"):
            task = getattr(self, name, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._confirm()
        if self._senders:  # replies in hand go out before the connection closes
            await asyncio.wait(list(self._senders.values()), timeout=10)
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def _poll(self, timeout: int, interval: float) -> None:
        """Long polling that confirms a batch to Telegram only after it is handled.

        PTB's Updater asks for the next batch (which confirms the last one to Telegram) while
        the last one is still being handled, so a crash there loses messages Telegram will never
        send again. Here the offset moves on only once every update of the batch is committed;
        after a crash Telegram redelivers the batch and the ones already handled are dropped as
        duplicates (processed_updates).
        """
        failures = 0
        while self._running:
            try:
                updates = await self.app.bot.get_updates(
                    offset=self._offset, timeout=timeout,
                    allowed_updates=list(ALLOWED_UPDATES))
                failures = 0
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except TelegramError as exc:  # network trouble, 409 another poller, 5xx: keep going
                failures += 1
                log.warning("getUpdates failed (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(min(60, 2 ** min(failures, 6)))
                continue
            if not updates:
                continue
            self._unfinished.clear()
            try:
                await self._process(updates)
            except Exception:  # a bug must not stop the channel; PTB logs handler errors
                log.exception("processing a batch of %d updates failed", len(updates))
            self._offset = self._next_offset(updates)
            if interval:
                await asyncio.sleep(interval)
            elif self._offset <= updates[-1].update_id:
                await asyncio.sleep(min(30, 2 ** self._retries[self._offset]))

    def _next_offset(self, updates: Sequence[Update]) -> int:
        """Past the batch, unless an update was neither handled nor answered.

        Such an update (her reply could not be sent, or handling failed before she was told
        anything) is asked for again, a few times, so it is not lost while she thinks it
        arrived; the ones handled meanwhile come back as duplicates and are dropped.
        """
        if self._unfinished:
            first = min(self._unfinished)
            self._retries[first] += 1
            if self._retries[first] <= REDELIVERIES:
                return first
            log.error("update %d given up after %d tries", first, REDELIVERIES)
        self._retries.clear()
        return updates[-1].update_id + 1

    async def _process(self, updates: Sequence[Update]) -> None:
        if not self.concurrent:
            for update in updates:
                await self.app.process_update(update)
            return
        # One task per update, created in arrival order: the dispatcher's per-chat lock is
        # first come, first served, so each woman's messages are still handled in order.
        await asyncio.gather(*(self.app.process_update(u) for u in updates),
                             return_exceptions=True)

    async def _confirm(self) -> None:
        """Tell Telegram what was handled, so a clean restart does not see it again."""
        if self._offset is None:
            return
        with contextlib.suppress(Exception):
            await self.app.bot.get_updates(offset=self._offset, timeout=0, limit=1)

    # -- incoming: webhook -------------------------------------------------------------------

    async def _on_webhook(self, request: Request) -> Response:
        if not secret_ok(request.headers.get(SECRET_HEADER), self._secret):
            return Response(status_code=403)
        if too_long(request.headers.get("content-length")):
            return Response(status_code=413)
        raw = await read_capped(request)
        if raw is None:
            return Response(status_code=413)
        update = self._parse(raw)
        if update is None:
            log.info("telegram webhook body is not an update; answered 400")
            return Response(status_code=400)
        task = asyncio.create_task(self._settle(update), name="telegram-update")
        self._webhook_updates.add(task)
        task.add_done_callback(self._webhook_updates.discard)
        try:
            # 200 only once her message is stored or she was told it was not: Telegram sends
            # again whatever did not get a 200, and the duplicate is dropped.
            settled = await asyncio.wait_for(asyncio.shield(task), WEBHOOK_SETTLE_SECONDS)
        except Exception:
            return Response(status_code=503)
        return Response(status_code=200 if settled else 500)

    def _parse(self, raw: bytes) -> Update | None:
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
            return None
        try:
            return Update.de_json(body, self.app.bot)
        except Exception:  # a shape PTB cannot read: not an update we can handle
            return None

    async def _settle(self, update: Update) -> bool:
        """Handle one webhook update; False when it was neither handled nor answered."""
        await self.app.process_update(update)
        if update.update_id in self._unfinished:
            self._unfinished.discard(update.update_id)
            return False
        return True

    # -- incoming ---------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.update_id in self._handled:
            # Asked for again because another update of its batch failed: this one was stored
            # or answered already (perhaps "not stored", with the hotlines): not twice.
            return
        incoming = self.to_incoming(update)
        if incoming is None:
            return
        if update.callback_query is not None:
            await self._acknowledge(update)

        async def deliver(replies: list[Reply]) -> None:
            sent = self._send_in_order(incoming.chat_id, replies)
            if any(reply.awaited for reply in replies):
                await sent  # e.g. "not stored, send it again": confirmed only once she knows

        try:
            await self.runtime.dispatcher.handle(incoming, deliver)
        except Exception:
            self._unfinished.add(update.update_id)
            raise
        self._handled[update.update_id] = None
        if len(self._handled) > HANDLED_IN_MEMORY:
            self._handled.popitem(last=False)
        if self.runtime.db.queued_for(CHANNEL):  # e.g. a danger alert to staff
            self.outbox.wake()

    def to_incoming(self, update: Update) -> Incoming | None:
        query = update.callback_query
        if query is not None:
            message = query.message
            if message is None or query.from_user is None:
                return None
            return Incoming(
                channel=CHANNEL, chat_id=str(message.chat.id), user_id=str(query.from_user.id),
                kind=Kind.ACTION, action=(query.data or "")[:64],
                display_name=query.from_user.full_name, update_key=str(update.update_id),
                bot=self.bot_id,
                is_group=message.chat.type != "private",
            )
        message = update.message or update.edited_message
        if message is None or message.from_user is None:
            return None
        kind, text, media = _content(message)
        return Incoming(
            channel=CHANNEL, chat_id=str(message.chat.id), user_id=str(message.from_user.id),
            kind=kind, text=self._own_command(text), media_url=media,
            display_name=message.from_user.full_name, update_key=str(update.update_id),
            bot=self.bot_id,
            is_group=message.chat.type != "private", is_edit=update.edited_message is not None,
        )

    def _own_command(self, text: str) -> str:
        """"/start@ThisBot" → "/start"; a command for another bot keeps its @name."""
        if text.startswith("/") and self.username:
            word, sep, rest = text.partition(" ")
            name, at, addressee = word.partition("@")
            if at and addressee.lower() == self.username:
                return name + sep + rest
        return text

    async def _acknowledge(self, update: Update) -> None:
        """Stop the button's spinner and show her choice in place of the old buttons."""
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()
            message = query.message
            if isinstance(message, Message) and message.reply_markup is not None:
                label = _label_for(message.reply_markup, query.data or "")
                if label and message.text:
                    await message.edit_text(f"{message.text}\n\n👉 {label}")
                else:
                    await message.edit_reply_markup(None)
        except (BadRequest, TimedOut, NetworkError) as exc:  # cosmetic; the choice still counts
            log.info("could not acknowledge callback: %s", exc)

    # -- outgoing ---------------------------------------------------------------------------

    def _send_in_order(self, chat_id: str, replies: list[Reply]) -> asyncio.Future[None]:
        """Queue replies behind the ones this chat is still waiting for; done when sent."""
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._replies.setdefault(chat_id, deque()).append((replies, sent))
        if chat_id not in self._senders:
            self._senders[chat_id] = asyncio.create_task(self._drain_chat(chat_id),
                                                         name="telegram-replies")
        return sent

    async def _drain_chat(self, chat_id: str) -> None:
        queue = self._replies[chat_id]
        try:
            while queue:
                replies, sent = queue[0]
                try:
                    await self.send_replies(chat_id, replies)
                    await self.runtime.dispatcher.delivered(replies)
                    sent.set_result(None)
                except Exception as exc:
                    log.warning("replies to a chat not sent (%s)", type(exc).__name__)
                    sent.set_exception(exc)
                    sent.exception()  # retrieved: nobody may be waiting for it
                queue.popleft()
        finally:
            self._senders.pop(chat_id, None)
            if not queue:
                self._replies.pop(chat_id, None)

    async def send_replies(self, chat_id: str, replies: Sequence[Reply]) -> None:
        for reply in replies:
            if reply.image:
                await self.app.bot.send_photo(chat_id, InputFile(reply.image, "chart.png"))
            if reply.document:
                name, content = reply.document
                await self.app.bot.send_document(chat_id, InputFile(content, name))
            pieces = split_text(reply.text, MAX_TEXT) if reply.text else []
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1
                await self.app.bot.send_text(chat_id, piece, _keyboard(reply) if last else None)

    async def _send_photo(self, chat_id: str, image: bytes) -> None:
        with _file_delivery():
            await self.app.bot.send_photo(chat_id, InputFile(image, "bieu-do.png"))

    async def _send_document(self, chat_id: str, name: str, content: bytes,
                             caption: str) -> None:
        """An answer's PDF from the outbox, its caption under it (under 1024 characters)."""
        with _file_delivery():
            await self.app.bot.send_document(chat_id, InputFile(content, name),
                                             caption=caption[:1024])

    async def send_queued(self, chat_id: str, text: str) -> None:
        """The outbox's sender: a long text in pieces, only the rest retried."""
        await send_pieces(split_text(text, MAX_TEXT),
                          lambda piece: self._send_piece(chat_id, piece))

    async def _send_piece(self, chat_id: str, piece: str) -> None:
        """Map Telegram errors to retry or give up."""
        try:
            await self.app.bot.send_text(chat_id, piece)
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after), "429") from exc
        except Forbidden as exc:
            raise Undeliverable(str(exc)) from exc
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                raise Undeliverable(str(exc)) from exc
            raise
        except (TimedOut, NetworkError) as exc:
            raise RetryLater(5, "network") from exc

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await self.app.bot.send_text(
                    update.effective_chat.id, self.runtime.services.locale.t("error.internal"))
            except Exception:
                log.warning("could not tell the user about the error")


def _host(url: str) -> str:
    """scheme://host[:port] of a Bot API URL: never the path, which may hold the token."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


@contextlib.contextmanager
def _file_delivery() -> Iterator[None]:
    """A file from the outbox: Telegram's errors as the outbox reads them (wait and retry, or
    give up: a file Telegram refuses once it refuses again)."""
    try:
        yield
    except RetryAfter as exc:
        raise RetryLater(_seconds(exc.retry_after), "429") from exc
    except (Forbidden, BadRequest) as exc:
        raise Undeliverable(str(exc)) from exc
    except (TimedOut, NetworkError) as exc:
        raise RetryLater(5, "network") from exc


def _seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _content(message: Message) -> tuple[Kind, str, str]:
    if message.text is not None:
        return Kind.TEXT, message.text, ""
    # A caption under a voice message may tell of danger: it is screened like a photo's
    # (handlers.engine), never stored as her question.
    if message.voice is not None:
        return Kind.VOICE, message.caption or "", f"{FILE_PREFIX}{message.voice.file_id}"
    media = message.audio or message.video_note
    if media is not None:
        return Kind.VOICE, message.caption or "", f"{FILE_PREFIX}{media.file_id}"
    if message.sticker is not None:
        return Kind.STICKER, "", ""
    if message.photo:
        return Kind.PHOTO, message.caption or "", ""
    if message.document is not None:
        return Kind.DOCUMENT, message.caption or "", ""
    return Kind.OTHER, "", ""


def _button_text(option_label: str, number: int | None) -> str:
    label = option_label
    if len(label) > MAX_BUTTON:
        label = label[: MAX_BUTTON - 1] + "…"
    return f"{number}. {label}" if number else label


def _keyboard(reply: Reply) -> dict | None:
    if not reply.options:
        return None
    rows: list[list[dict[str, str]]] = []
    row: list[dict[str, str]] = []
    for option in reply.options:
        button = {"text": _button_text(option.label, option.number),
                  "callback_data": option.action[:64]}
        # Navigation (Quay lại, Hủy) always gets its own row, under the choices.
        if option.number in (0, None):
            if row:
                rows.append(row)
                row = []
            rows.append([button])
            continue
        row.append(button)
        if len(row) >= reply.columns:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    return {"inline_keyboard": rows}


def _label_for(markup: InlineKeyboardMarkup, data: str) -> str:
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return ""
