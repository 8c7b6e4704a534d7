"""A message that tells of danger: safety information at once, staff alerted now, then calm.

`escalate_danger` runs before the flow on every free-text message (edited ones too), whatever
step she is at. The detector (handlers.safety.DangerDetector) answers one of three ways:

- danger (she or someone close is hurt, threatened, held, trafficked, forced to marry, wants to
  die, fled - now): hotlines, staff alerted (and the union leader of her commune, without her
  words), her message stored at once as an urgent question when she has consented. Then the
  conversation stays calm: what happens next, and a choice to go on with a question or stop -
  no welcome, no list, no echo of her words, no date months away. The flow never sees the
  message, so it cannot answer it as if it were a commune name.
- maybe (harm words, but unclear whether anyone is in danger now): hotlines gently and a
  question; staff are alerted only if she says yes (button "🆘 ..."), never by the words alone.
- nothing: the flow runs as usual; a policy question on child marriage is a normal question.

What she is told about alerts is what was queued: with no staff chat and no commune leader to
reach, she is told so and asked to call. Staff's own messages and a commune leader's relays are
never treated as a member's disclosure (a relay that tells of danger is stored urgent).
"""

from __future__ import annotations

import datetime as dt
import uuid

from handlers.safety import MODEL_SIGNAL
from storage import dedupe
from storage import queries as q

from .domain import Settings
from .engine import IDLE, Context
from .menus import menu
from .privacy import mask_pii
from .questions import Filing, file_question
from .text import fold
from .types import Kind, Reply

__all__ = ["Safety", "State", "escalate_danger"]

DANGER = "danger"
MAYBE = "maybe"
HELP = "safety:help"  # valid on any older message: she may press it later
_ALERT_CHARS = 600
HOTLINES_BACKUP = dt.timedelta(seconds=10)  # the outbox copy goes out if no reply was sent
_YES = frozenset({"co", "co a", "vang", "da co", "dung", "dung roi", "can giup", "cuu", "cuu em",
                  "can giup ngay", "toi can giup ngay", "co can giup ngay", "giup em", "giup toi",
                  "cuu toi", "cuu voi", "cuu em voi", "giup em voi"})
_NO = frozenset({"khong", "ko", "k", "khong a", "ko a", "hok", "khong co"})


class State:
    NEXT = "safety.next"  # after a disclosure: go on with a question, or stop
    ASK = "safety.ask"  # "maybe": is someone in danger?


async def escalate_danger(ctx: Context) -> bool:
    """The screen. True when it answered the message itself (the flow must not run)."""
    detect = ctx.services.danger
    if detect is None or not ctx.text or ctx.text.startswith("/"):
        return False
    if ctx.is_staff or ctx.state.startswith("staff."):
        return False  # a staff member's answer about "tảo hôn" is not her own danger
    found = detect(ctx.text)
    if found is None:
        return False
    level = getattr(found, "level", DANGER)
    category = getattr(found, "category", "nguy_hiem")
    if ctx.state.startswith("lead."):
        if level == DANGER:
            ctx.data["danger"] = category  # the relay is stored urgent when she finishes it
        return False
    if ctx.data.get("danger"):
        # Already disclosed in this conversation and she chose to go on: pass on what is new,
        # let the flow carry on.
        if level == DANGER and await _alert(ctx, category, ctx.text, more=True):
            ctx.say(ctx.t("danger.more_sent"))
        return False
    if level == DANGER:
        await disclose(ctx, category, ctx.text)
        return True
    if ctx.state == State.ASK:
        if MODEL_SIGNAL in getattr(found, "signals", ()):
            return False  # only the model read danger: never an alarm; the question stands
        # Asked whether she is in danger, she answers with more such words: that is a yes.
        await disclose(ctx, category, "\n".join(
            t for t in (ctx.data.get("maybe_text", ""), ctx.text) if t))
        return True
    ctx.data["maybe_text"] = ctx.text[: ctx.settings.question_max_chars]
    ctx.data["maybe_category"] = category
    if not ctx.incoming.is_edit and (ctx.incoming.kind == Kind.TEXT or ctx.state == IDLE):
        # Asked before the flow goes on, mid-flow too: a note beside the flow's next menu lost
        # her "help" to that menu where options are numbers (the terminal, Zalo), so typing
        # 1 filed her plea as a question. "No" hands her words back to the step she was at.
        if ctx.state != IDLE:
            ctx.data["maybe_resume"] = ctx.state
        ctx.go(State.ASK, ctx.t("danger.maybe", hotlines=_hotlines(ctx)), menu([
            (ctx.t("danger.button.help"), HELP),
            (ctx.t("danger.button.no"), "safety:no"),
        ]))
        return True
    # An edit or a caption: a gentle note with a button she can press at any time; the flow
    # goes on with her photo or where she was.
    ctx.say(ctx.t("danger.maybe_note", hotlines=_hotlines(ctx),
                  button=ctx.t("danger.button.help_now")),
            menu([(ctx.t("danger.button.help_now"), HELP)]))
    return False


async def disclose(ctx: Context, category: str, text: str) -> None:
    """Hotlines, alerts, urgent case, then the calm choice."""
    ctx.data["danger"] = category
    ctx.data["safety_text"] = text[: ctx.settings.question_max_chars]
    if "maybe_resume" in ctx.data:
        ctx.data["safety_resume"] = ctx.data.pop("maybe_resume")
    elif ctx.state not in (State.NEXT, State.ASK):
        ctx.data["safety_resume"] = ctx.state
    commune = await _commune(ctx)
    receipt = await _store_urgent(ctx, category, commune, text)
    reference = receipt or f"U{ctx.user.id}"
    ctx.data["safety_reference"] = reference
    staff = await _alert(ctx, category, text)
    leaders = await _alert_commune(ctx, category, commune, reference, staff=staff)
    lines = [ctx.t("danger.reply", hotlines=_hotlines(ctx))]
    contact = ctx.settings.commune_contacts.get(commune, "")
    if contact:
        lines.append(ctx.t("danger.commune_contact", commune=commune, contact=contact))
    if staff and leaders:
        lines.append(ctx.t("danger.told_staff_and_commune", commune=commune, reference=reference))
    elif staff:
        lines.append(ctx.t("danger.told_staff", reference=reference))
    elif leaders:  # her commune's leader only: provincial staff were not told
        lines.append(ctx.t("leader6.told_commune_only", commune=commune, reference=reference))
    else:
        lines.append(ctx.t("danger.not_told"))
    # Committed with her message: if the process dies before the reply below is sent (kill -9,
    # power), the outbox sends her the hotlines a minute later; a sent reply withdraws it.
    backup = f"hotlines:{ctx.incoming.channel}:{ctx.incoming.update_key or uuid.uuid4().hex}"
    await q.enqueue(ctx.conn, ctx.incoming.channel, ctx.incoming.chat_id, "\n\n".join(lines),
                    purpose="hotlines", dedupe_key=backup, priority=10, now=ctx.now,
                    about_user=ctx.user.id, not_before=ctx.now + HOTLINES_BACKUP)
    lines.append(ctx.t("danger.next"))
    ctx.state = State.NEXT
    ctx.replies.append(Reply("\n\n".join(lines), menu([
        (ctx.t("danger.button.continue"), "safety:continue"),
        (ctx.t("danger.button.stop"), "safety:stop"),
    ]), cancels=backup))


class Safety:
    """The two calm steps after the screen spoke, and the help button on any older message."""

    def __init__(self) -> None:
        self.states = {State.NEXT: self.on_next, State.ASK: self.on_ask}
        self.prompts = {State.NEXT: self.ask_next, State.ASK: self.ask_ask}

    async def command(self, ctx: Context, name: str, args: str) -> bool:
        return False

    async def global_action(self, ctx: Context, action: str) -> bool:
        if action != HELP:
            return False
        if ctx.data.get("danger"):
            ctx.say(ctx.t("danger.more_sent") if await _alert(
                ctx, ctx.data["danger"], ctx.data.get("maybe_text", "🆘"), more=True)
                else ctx.t("danger.not_told"))
            return True
        await disclose(ctx, ctx.data.get("maybe_category", "nguy_hiem"),
                       ctx.data.get("maybe_text", "🆘"))
        return True

    async def ask_next(self, ctx: Context) -> None:
        ctx.say(ctx.t("danger.next"), menu([
            (ctx.t("danger.button.continue"), "safety:continue"),
            (ctx.t("danger.button.stop"), "safety:stop"),
        ]))

    async def on_next(self, ctx: Context) -> None:
        if ctx.action == "safety:stop":
            ctx.reset()
            ctx.say(ctx.t("danger.stopped"))
        elif ctx.action == "safety:continue":
            await _go_on(ctx)
        else:
            ctx.say(ctx.t("danger.choose"))
            await ctx.show(State.NEXT)

    async def ask_ask(self, ctx: Context) -> None:
        ctx.say(ctx.t("danger.maybe", hotlines=_hotlines(ctx)), menu([
            (ctx.t("danger.button.help"), HELP),
            (ctx.t("danger.button.no"), "safety:no"),
        ]))

    async def on_ask(self, ctx: Context) -> None:
        said = fold(ctx.text).strip(" .!?")
        if ctx.action == HELP or said in _YES or "🆘" in ctx.text:
            await disclose(ctx, ctx.data.get("maybe_category", "nguy_hiem"),
                           ctx.data.get("maybe_text", "🆘"))
        elif ctx.action == "safety:no" or said in _NO:
            from .ask_question import AskQuestion

            draft = ctx.data.pop("maybe_text", "")
            ctx.data.pop("maybe_category", None)
            resume = ctx.data.pop("maybe_resume", None)
            if resume:  # back to her step, her words handled there as if just typed
                ctx.state = resume
                ctx.replay = draft
            else:
                await AskQuestion().begin(ctx, draft=draft)
            ctx.data["said_not_danger"] = True  # her question is not then a violence one
        else:
            ctx.say(ctx.t("danger.choose"))
            await ctx.show(State.ASK)


async def _go_on(ctx: Context) -> None:
    """She chose to go on: back where she was, her message as her question where one was due."""
    from .ask_question import AskQuestion
    from .ask_question import State as Ask

    resume = ctx.data.pop("safety_resume", IDLE)
    text = ctx.data.pop("safety_text", "")
    if resume in (IDLE, Ask.ABANDON, State.NEXT, State.ASK):
        await AskQuestion().begin(ctx, draft=text)
    elif resume == Ask.QUESTION and ctx.data.get("topic"):
        ctx.data["text"] = text
        await ctx.show(Ask.ANONYMITY)
    else:
        await ctx.show(resume)


def _hotlines(ctx: Context) -> str:
    return hotline_lines(ctx.settings)


def hotline_lines(settings: Settings) -> str:
    """The hotlines from config, one per line: the one way they are shown to her."""
    return "\n".join(f"☎️ {h.number} — {h.name}" for h in settings.hotlines)


def _category_name(ctx: Context, category: str) -> str:
    key = f"danger.category.{category}"
    return ctx.t(key) if key in ctx.services.locale.messages else category


async def _commune(ctx: Context) -> str:
    return ctx.data.get("commune") or await q.last_commune_of_user(ctx.conn, ctx.user.id) or ""


async def _alert(ctx: Context, category: str, text: str, more: bool = False) -> bool:
    """Queue the staff alert on every staff chat; True when at least one was queued. Her
    phone, ID and email are masked: staff reach her through the bot (/nhan)."""
    chats = ctx.settings.staff_chats
    if not chats:
        return False
    reference = ctx.data.get("safety_reference", f"U{ctx.user.id}")
    key = "danger.staff_alert_more" if more else "danger.staff_alert"
    if not ctx.settings.texts_in_chat:  # [privacy]: her words stay in the console
        key = "console.staff_alert_more" if more else "console.staff_alert"
        if not ctx.data.get("urgent_question"):
            key = "leader6.staff_alert_unstored"  # nothing stored: the console cannot show it
    url = ctx.settings.console_url
    alert = ctx.t(key, category=_category_name(ctx, category),
                  commune=await _commune(ctx) or "?", text=mask_pii(text)[:_ALERT_CHARS],
                  channel=ctx.incoming.channel, reference=reference,
                  link=ctx.t("console.link", url=url, path="/an-toan") if url else "")
    update = ctx.incoming.update_key
    for channel, chat_id in chats.items():
        await q.enqueue(ctx.conn, channel, chat_id, alert, purpose="danger",
                        dedupe_key=f"danger:{ctx.incoming.channel}:{update}:{channel}"
                        if update else None, priority=10, now=ctx.now, about_user=ctx.user.id)
    return True


async def _alert_commune(ctx: Context, category: str, commune: str, reference: str,
                         staff: bool) -> bool:
    """The union leader(s) configured for her commune ([[leaders]]): told that someone there
    needs help and, only when a staff alert was queued (`staff`), that provincial staff are on
    it; otherwise asked to tell them. Never her words or her name."""
    if not commune:
        return False
    # Configured leaders ([[leaders]], private chat id = user id) and leaders by invite code.
    chats = {tuple(key.split(":", 1)) for key, place in ctx.settings.leaders.items()
             if place == commune}
    chats.update(await q.leader_chats_of_commune(ctx.conn, commune))
    chats.discard((ctx.incoming.channel, ctx.incoming.chat_id))
    sent = False
    for channel, chat_id in sorted(chats):
        # Never her raw chat id in the key: it would outlive her /xoa_du_lieu in the key column.
        key = await dedupe.recipient_token(ctx.conn, channel, chat_id)
        await q.enqueue(ctx.conn, channel, chat_id,
                        ctx.t("danger.commune_alert" if staff else
                              "leader6.commune_alert_no_staff", commune=commune,
                              reference=reference,
                              category=_category_name(ctx, category)),
                        purpose="danger_commune", dedupe_key=f"danger-commune:{reference}:{key}",
                        priority=10, now=ctx.now, about_user=ctx.user.id)
        sent = True
    return sent


async def _store_urgent(ctx: Context, category: str, commune: str, text: str) -> str:
    """Store her words now as an urgent question; the receipt, or "" without consent."""
    if ctx.data.get("urgent_question"):
        return ctx.data.get("urgent_receipt", "")
    if not ctx.user.consented:
        return ""
    open_now = ctx.settings.open_dialogues(ctx.today)
    dialogue = ctx.dialogue() or (open_now[0] if open_now else None)
    if dialogue is None or not dialogue.is_open(ctx.today):
        return ""
    topic = ctx.data.get("topic") or _protection_topic(dialogue.topics)
    filed = await file_question(ctx, dialogue, Filing(
        kind="member", commune=commune, topic=topic,
        text=text[: ctx.settings.question_max_chars], anonymous=True,
        urgent=True, danger=category,
    ), match=False)  # a cluster of its own: never joined to another's question
    ctx.data["urgent_question"] = filed.question_id
    ctx.data["urgent_receipt"] = filed.receipt
    ctx.data.setdefault("dialogue", dialogue.id)
    return filed.receipt


def _protection_topic(topics: tuple[str, ...]) -> int:
    """The topic about protecting women and children (violence), else the last ("Khác")."""
    for number, name in enumerate(topics, 1):
        folded = fold(name)
        if "bao luc" in folded or "bao ve phu nu" in folded:
            return number
    return len(topics)

