"""The dispatcher: one incoming message in, replies out, state saved in SQLite.

Every incoming is one unit of work in one transaction: drop a duplicate delivery, load the
conversation, run the state's handler, save the new state and anything stored. Replies are
returned only after the commit, so a receipt is never shown for a question that is not stored.

Errors: a value that does not fit the current step is answered by the flow itself (she is told
what to send and the state stays). Anything raised while handling rolls the transaction back and
she is told, truthfully, that her message was not stored (handlers/fallback.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiosqlite

from storage import declines
from storage import queries as q
from storage.clock import Clock, system_clock
from storage.db import Database
from storage.message import Opening, close_message, open_message
from storage.spool import AlertSpool

from .domain import Dialogue, Settings
from .locale import Locale
from .menus import offered_from, render_text, resolve_typed
from .text import clean
from .types import Incoming, Kind, Option, Reply

__all__ = ["Context", "Dispatcher", "Flow", "Services"]

log = logging.getLogger(__name__)

IDLE = "idle"
RECENT_SENDERS = 10_000  # flood windows kept in memory before the quiet ones are dropped


class Matcher(Protocol):
    """Finds similar questions; implemented in bot.matching over storage."""

    async def similar(self, conn: aiosqlite.Connection, dialogue_id: str, text: str,
                      topic: int | None) -> list[Any]: ...

    async def best_cluster(self, conn: aiosqlite.Connection, dialogue_id: str, text: str,
                           topic: int | None) -> Any | None: ...

    async def possible_duplicate(self, conn: aiosqlite.Connection, dialogue_id: str,
                                 text: str, topic: int | None) -> Any | None: ...

    # Called after commit, so the index follows every change at once.
    def add(self, dialogue_id: str, question_id: int, text: str, cluster_id: int,
            topic: int | None) -> None: ...

    def add_rows(self, rows: Any) -> None: ...

    def remove(self, dialogue_id: str, question_id: int) -> None: ...

    def remove_cluster(self, dialogue_id: str, cluster_id: int) -> None: ...

    def merge(self, dialogue_id: str, source: int, target: int) -> None: ...

    def move(self, dialogue_id: str, question_id: int, cluster_id: int) -> None: ...


class Danger(Protocol):
    def __call__(self, text: str) -> Any | None: ...


@dataclass(frozen=True)
class Services:
    settings: Settings
    locale: Locale
    communes: Callable[[int], Any]  # province_code -> CommuneBook
    matcher: Matcher | None = None
    danger: Danger | None = None
    # Kinds of sensitive data named in a text (handlers.sensitive.SensitiveWords.kinds).
    sensitive: Callable[[str], frozenset[str]] | None = None
    tools: Any = None  # bot.staff_tools.StaffTools: digest, stats, exports for staff commands
    clock: Clock = system_clock


@dataclass
class Context:
    """Everything one step of a flow may read or change."""

    incoming: Incoming
    conn: aiosqlite.Connection
    user: q.User
    state: str
    data: dict[str, Any]
    offered: list[dict]
    services: Services
    replies: list[Reply] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # Her personal data was erased: save no conversation row, empty the WAL after the commit.
    erased: bool = False
    # Words she took back were overwritten (a declined sensitive consent): empty the WAL too.
    scrub_wal: bool = False
    action: str = ""  # the resolved button/typed choice, "" for free text
    text: str = ""  # cleaned free text
    # Words a step hands back to the step it restored, to be read there as if just typed (she
    # said "no, not in danger" to a question asked in the middle of her question).
    replay: str | None = None
    prompts: dict[str, Callable[[Context], Awaitable[None]]] = field(default_factory=dict)

    # -- helpers used by every flow ----------------------------------------------------------

    def t(self, key: str, /, **values: object) -> str:
        return self.services.locale.t(key, **values)

    def status_name(self, status: str) -> str:
        return self.services.locale.status_name(status)

    def say(self, text: str, options: tuple[Option, ...] = (), columns: int = 1) -> None:
        self.replies.append(Reply(text, options, columns))

    def go(self, state: str, text: str, options: tuple[Option, ...] = (),
           columns: int = 1) -> None:
        self.state = state
        self.say(text, options, columns)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def now(self) -> dt.datetime:
        return self.services.clock()

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.settings.timezone).date()

    @property
    def is_staff(self) -> bool:
        return self.settings.is_staff(self.incoming.channel, self.incoming.user_id)

    def dialogue(self) -> Dialogue | None:
        return self.settings.dialogue(self.data.get("dialogue", ""))

    def chosen_open_dialogue(self, prefix: str) -> Dialogue | None:
        """The open dialogue a "<prefix><id>" choice names, or None (unknown, closed, forged)."""
        if not self.action.startswith(prefix):
            return None
        dialogue = self.settings.dialogue(self.action.removeprefix(prefix))
        return dialogue if dialogue is not None and dialogue.is_open(self.today) else None

    async def record_consent(self) -> None:
        await q.record_consent(self.conn, self.user.id, self.settings.consent_version,
                               self.incoming.display_name, now=self.now)
        self.user = await q.user_by_id(self.conn, self.user.id) or self.user

    async def forget_declined(self, gone_key: str = "ask.no_consent") -> None:
        """She said no: nothing that identifies her stays (row, name, conversation, WAL), and
        she is told so truthfully (a danger alert already sent to staff stays with them)."""
        gone = await q.forget_declined_user(self.conn, self.user.id)
        # The danger sentence only when staff were really alerted about her; a row kept for
        # another reason (a commune leader's, say) is not a report she made.
        alerted = not gone and await declines.staff_alerted_about(self.conn, self.user.id)
        self.reset()
        self.erased = True
        self.say(self.t(gone_key if gone else
                        "ask.no_consent_alerted" if alerted else "leader6.no_consent_kept"))

    def reset(self, state: str = IDLE) -> None:
        self.state = state
        self.data = {}

    async def show(self, state: str) -> None:
        """Move to `state` and ask its question."""
        self.state = state
        await (self.prompts.get(state) or self.prompts[IDLE])(self)


Handler = Callable[[Context], Awaitable[None]]
# A screen returns True when it answered the message itself and the flow must not see it.
Screen = Callable[[Context], Awaitable[bool]]


class Flow(Protocol):
    """A conversation flow: owns some states and some commands."""

    @property
    def states(self) -> Mapping[str, Handler]: ...  # state name -> what handles a message in it

    @property
    def prompts(self) -> Mapping[str, Handler]: ...  # state name -> what asks for it again

    async def command(self, ctx: Context, name: str, args: str) -> bool: ...


class Dispatcher:
    """Routes each incoming to the flow that owns the conversation's state."""

    def __init__(self, db: Database, services: Services, flows: list[Flow],
                 screens: list[Screen] | None = None, alerts: Any = None) -> None:
        self.db = db
        # Where a danger alert goes when the database refuses the message (AlertSpool).
        self.alerts = alerts if alerts is not None else AlertSpool(None)
        self.services = services
        self.flows = flows
        # Run on every free-text message before the flow sees it (danger escalation).
        self.screens = screens or []
        self.states: dict[str, Handler] = {}
        self.prompts: dict[str, Handler] = {}
        for flow in flows:
            self.states.update(flow.states)
            self.prompts.update(flow.prompts)
        self._recent: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @property
    def locale(self) -> Locale:
        return self.services.locale

    def render_text(self, reply: Reply) -> str:
        """Reply as numbered text (terminal, Zalo)."""
        return render_text(reply, self.locale.t("menu.type_number"), self.locale.t("menu.keyword"))

    async def handle(
        self, incoming: Incoming, deliver: Callable[[list[Reply]], Awaitable[None]] | None = None
    ) -> list[Reply]:
        """Handle one incoming message, one at a time per chat, in arrival order.

        `deliver` sends the replies while the chat is still held, so two quick messages from one
        woman are answered in the order she sent them.
        """
        key = (incoming.channel, incoming.chat_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                replies = await self._handle(incoming)
                # Counts only: a debug line must never carry her words, name or chat id.
                log.debug("%s message handled, %d replies", incoming.channel, len(replies))
                if deliver is not None and replies:
                    await deliver(replies)
                return replies
        finally:
            if not lock.locked() and not lock._waiters:  # drop idle locks: no unbounded growth
                self._locks.pop(key, None)

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        if incoming.is_group and not self._addressed_in_group(incoming):
            if self._staff_elsewhere(incoming):  # one word, no data: this group is not staff's
                return [Reply(self.locale.t("staff.only_in_staff_chat"))]
            return []  # deliberate silence: groups are for staff, not member conversations
        if self._flooding(incoming) and not self._may_be_danger(incoming):
            return self._flood_reply(incoming)  # a message telling of danger is never muted
        now = self.services.clock()
        opening = open_message(incoming.channel, incoming.bot, incoming.update_key,
                               incoming.user_id, incoming.chat_id, incoming.display_name, now)
        try:
            # One transaction per message; its bookkeeping (delivery claim, user, conversation)
            # rides with BEGIN and COMMIT (storage.message), the flow's own queries in between.
            async with self.db.opened_transaction(opening) as opened:
                if not opened.first.claimed:
                    log.info("duplicate delivery %s/%s dropped", incoming.channel,
                             incoming.update_key)
                    return []
                ctx = self._context(opened.conn, incoming, opened.first)
                await self._route(ctx)
                await _forget_if_never_agreed(ctx)
                opened.last = close_message(
                    incoming.channel, incoming.chat_id, ctx.state, ctx.data,
                    offered_from(ctx.replies) or (ctx.offered if not ctx.replies else []),
                    ctx.now, erased=ctx.erased)
        except Exception as exc:  # rolled back: nothing of this message is stored
            log.error("%s message not stored (%s: %s)", incoming.channel, type(exc).__name__,
                      _sqlite_code(exc), exc_info=not isinstance(exc, sqlite3.Error))
            from .fallback import not_stored

            return not_stored(self.services, incoming, self.alerts)
        for hook in ctx.after_commit:
            hook()
        if ctx.erased or ctx.scrub_wal:
            await self.db.checkpoint()
        return ctx.replies

    def _addressed_in_group(self, incoming: Incoming) -> bool:
        # In a group only /id is answered (it tells whoever asks the group's id: how the staff
        # group is found at set-up), and staff's commands and buttons in the staff chat. Any
        # other group may hold anyone: a staff member's /xem there would post her question to
        # strangers (red-team pass 4, F1).
        if incoming.kind is Kind.ACTION:
            return self._staff_in_staff_chat(incoming)
        if not incoming.text.startswith("/"):
            return False
        word = incoming.text[1:].split(maxsplit=1)[0].lower() if len(incoming.text) > 1 else ""
        return word in ("id", "chatid") or self._staff_in_staff_chat(incoming)

    def _staff_in_staff_chat(self, incoming: Incoming) -> bool:
        settings = self.services.settings
        return (settings.is_staff(incoming.channel, incoming.user_id)
                and incoming.chat_id == settings.staff_chat(incoming.channel))

    def _staff_elsewhere(self, incoming: Incoming) -> bool:
        return (incoming.kind is Kind.TEXT and incoming.text.startswith("/")
                and self.services.settings.is_staff(incoming.channel, incoming.user_id))

    def _flooding(self, incoming: Incoming) -> bool:
        settings = self.services.settings
        now = time.monotonic()
        if len(self._recent) > RECENT_SENDERS:  # a flood of distinct senders: forget the quiet
            self._recent = defaultdict(deque, {
                key: times for key, times in self._recent.items()
                if times and now - times[-1] <= settings.flood_window_seconds})
        window = self._recent[(incoming.channel, incoming.user_id)]
        while window and now - window[0] > settings.flood_window_seconds:
            window.popleft()
        window.append(now)
        return len(window) > settings.flood_max_messages

    async def delivered(self, replies: list[Reply]) -> None:
        """A channel sent these replies: withdraw the outbox copies kept in case it could not."""
        keys = [reply.cancels for reply in replies if reply.cancels]
        if not keys:
            return
        try:
            async with self.db.transaction() as conn:
                for key in keys:
                    await q.cancel_queued(conn, key)
        except Exception as exc:  # she may get the hotlines twice: better than not at all
            log.warning("outbox copy not withdrawn (%s)", type(exc).__name__)

    def _may_be_danger(self, incoming: Incoming) -> bool:
        danger = self.services.danger
        text = incoming.text if incoming.kind in (Kind.TEXT, Kind.PHOTO, Kind.DOCUMENT) else ""
        return bool(text) and danger is not None and danger(clean(text)) is not None

    def _flood_reply(self, incoming: Incoming) -> list[Reply]:
        # One polite word when the limit is first passed, then silence until she slows down.
        window = self._recent[(incoming.channel, incoming.user_id)]
        if len(window) == self.services.settings.flood_max_messages + 1:
            return [Reply(self.locale.t("error.flood"))]
        return []

    def _context(self, conn: aiosqlite.Connection, incoming: Incoming,
                 opening: Opening) -> Context:
        conv = opening.conversation
        state, data, offered = (conv.state, conv.data, conv.offered) if conv else (IDLE, {}, [])
        if state not in self.states and state != IDLE:
            log.warning("unknown stored state %r reset to idle", state)
            state, data, offered = IDLE, {}, []
        assert opening.user is not None  # a claimed message always has her row
        return Context(incoming, conn, opening.user, state, data, offered, self.services,
                       prompts=self.prompts)

    async def _route(self, ctx: Context) -> None:
        incoming = ctx.incoming
        if incoming.is_edit:
            # An edit is not a new message for the flow, but it is screened: a woman who edits
            # "em ổn" into "chồng em đang đánh em" must get the hotlines.
            ctx.text = clean(incoming.text) if incoming.kind == Kind.TEXT else ""
            if await self._screen(ctx):
                return
            ctx.say(ctx.t("error.edited"))
            return
        if incoming.kind == Kind.ACTION:
            await self._on_action(ctx, incoming.action)
            return
        if incoming.kind == Kind.UNSUPPORTED:
            from .unsupported import on_unsupported  # imports escalation, which imports this

            await on_unsupported(ctx)
            return
        if incoming.kind != Kind.TEXT:
            # A photo of her injuries may say in its caption what is happening: screened too.
            ctx.text = clean(incoming.text)
            if ctx.text and await self._screen(ctx):
                return
            ctx.text = ""
            await self._on_media(ctx)
            return
        text = clean(incoming.text)
        if text.startswith("/"):
            await self._on_command(ctx, text)
            return
        ctx.text = text
        ctx.action = resolve_typed(text, ctx.offered) or "" if text else ""
        if ctx.action:
            # A typed number is the button it names, staff cluster buttons included (the
            # terminal and Zalo show buttons as a numbered list).
            await self._on_action(ctx, ctx.action)
            return
        if await self._screen(ctx):
            return
        await self._run_state(ctx)

    async def _screen(self, ctx: Context) -> bool:
        """Run the screens; True when one answered the message itself."""
        for screen in self.screens:
            if await screen(ctx):
                return True
        return False

    async def _on_action(self, ctx: Context, action: str) -> None:
        for flow in self.flows:
            # Some buttons stay valid on older messages (staff cluster cards); the flow that
            # owns them checks who pressed.
            global_action = getattr(flow, "global_action", None)
            if global_action is not None and await global_action(ctx, action):
                return
        if not any(o["a"] == action for o in ctx.offered):
            # Forged, stale (an old message's button) or from before a restart with new options.
            ctx.say(ctx.t("error.stale_button"))
            await self.prompt(ctx)
            return
        ctx.action = action
        await self._run_state(ctx)

    async def _on_media(self, ctx: Context) -> None:
        handler = self.states.get(ctx.state + ":media")
        if handler:
            await handler(ctx)
            return
        ctx.say(ctx.t(f"media.{ctx.incoming.kind.value}"))
        await self.prompt(ctx)

    async def _on_command(self, ctx: Context, text: str) -> None:
        word, _, args = text[1:].partition(" ")
        name, _, addressee = word.partition("@")
        if addressee:
            return  # a command for another bot: not ours to answer
        name = name.lower()
        for flow in self.flows:
            if await flow.command(ctx, name, args.strip()):
                return
        ctx.say(ctx.t("error.unknown_command", command="/" + name[:30]))
        await self.prompt(ctx)

    async def _run_state(self, ctx: Context) -> None:
        handler = self.states.get(ctx.state)
        if handler is None:  # idle: the first flow decides what an unprompted message means
            handler = self.states[IDLE]
        await handler(ctx)
        if ctx.replay is not None:  # a step handed back earlier words to the step it restored
            ctx.text, ctx.action, ctx.replay = ctx.replay, "", None
            await (self.states.get(ctx.state) or self.states[IDLE])(ctx)

    async def prompt(self, ctx: Context) -> None:
        """Show the current step's question again, so she is never left without a way on."""
        await ctx.show(ctx.state)


async def _forget_if_never_agreed(ctx: Context) -> None:
    """Someone who never agreed (or declined) and is at rest after this message (/help, /id,
    /cua_toi after "Không đồng ý"): her row goes again, as when she declined, unless something
    needs it (a leader code, a danger alert about her). "Hội không lưu gì cả" stays true."""
    if (ctx.state == IDLE and not ctx.data and not ctx.user.consented and not ctx.is_staff
            and not ctx.erased and await q.forget_visitor(ctx.conn, ctx.user.id)):
        ctx.erased = True  # no conversation row either, and the WAL emptied


def _sqlite_code(exc: BaseException) -> str:
    """SQLITE_FULL, SQLITE_IOERR…: what went wrong, without the statement or its values."""
    return getattr(exc, "sqlite_errorname", "") or "-"
