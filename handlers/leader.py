"""Commune union leaders relay their branch's concerns, several in a row.

A leader is made by a one-time code staff create (/moi_can_bo) or by config. Her flow remembers
her commune; each relayed question counts the members she speaks for in its cluster.
Diagram: leader.mmd beside this file.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from storage import declines
from storage import queries as q

from . import formats
from .answers import tell_answer
from .domain import Dialogue
from .engine import IDLE, Context
from .menus import BACK, CANCEL, menu
from .privacy import mask_for_member
from .questions import Filing, file_question

__all__ = ["Leader"]

MAX_REPRESENTED = 10_000
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")
_CODE = re.compile(r"^CB-[A-Z0-9]{6}$")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud


class State:
    CONSENT = "lead.consent"
    DIALOGUE = "lead.dialogue"
    TOPIC = "lead.topic"
    QUESTION = "lead.question"
    COUNT = "lead.count"
    DATE = "lead.date"
    MORE = "lead.more"


class Leader:
    def __init__(self) -> None:
        self.states = {
            State.CONSENT: self.on_consent,
            State.DIALOGUE: self.on_dialogue,
            State.TOPIC: self.on_topic,
            State.QUESTION: self.on_question,
            State.COUNT: self.on_count,
            State.DATE: self.on_date,
            State.MORE: self.on_more,
        }
        self.prompts = {
            State.CONSENT: self.ask_consent,
            State.DIALOGUE: self.ask_dialogue,
            State.TOPIC: self.ask_topic,
            State.QUESTION: self.ask_question,
            State.COUNT: self.ask_count,
            State.DATE: self.ask_date,
            State.MORE: self.ask_more,
        }

    async def command(self, ctx: Context, name: str, args: str) -> bool:
        if name == "can_bo":
            await self.redeem(ctx, args)
        elif name in ("chi_hoi", "gui_chi_hoi"):
            await self.start(ctx)
        elif name == "xa_toi":
            await self.commune_status(ctx)
        elif name == "moi_can_bo":
            await self.invite(ctx, args)
        else:
            return False
        return True

    async def global_action(self, ctx: Context, action: str) -> bool:
        if action == "lead:start" and _commune(ctx):
            await self.start(ctx)
            return True
        return False

    # -- becoming a leader ------------------------------------------------------------------

    async def invite(self, ctx: Context, args: str) -> None:
        """Staff: a one-time code for the leader of a commune."""
        if not ctx.is_staff:
            ctx.say(ctx.t("staff.not_allowed"))
            return
        dialogue = ctx.settings.current_dialogue(ctx.today)
        found = ctx.services.communes(dialogue.province_code).search(args) if args else []
        if len(found) != 1:
            ctx.say(ctx.t("leader.invite_usage") if not found else
                    ctx.t("leader.invite_ambiguous", names=", ".join(found)))
            return
        code = "CB-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
        days = ctx.settings.invite_valid_days
        expires = ctx.now + dt.timedelta(days=days)
        await q.create_invite(ctx.conn, code, found[0], f"{ctx.incoming.channel}:"
                              f"{ctx.incoming.user_id}", now=ctx.now, expires=expires)
        ctx.say(ctx.t("leader.invite_created", code=code, commune=found[0], days=days,
                      expires=formats.moment(expires, ctx.settings.timezone)))

    async def redeem(self, ctx: Context, args: str) -> None:
        """A code works once, until it expires; wrong codes lock this user out for a while."""
        settings = ctx.settings
        locked = await q.invite_locked_until(ctx.conn, ctx.user.id, now=ctx.now)
        if locked:
            ctx.say(ctx.t("leader.locked", until=formats.moment(dt.datetime.fromisoformat(locked),
                                                               ctx.settings.timezone)))
            return
        code = args.strip().upper()
        commune = await q.redeem_invite(ctx.conn, code, ctx.user.id,
            now=ctx.now) if _CODE.match(code) else None
        if commune is None:
            expired = await q.invite_expired(ctx.conn, code, now=ctx.now)
            lock = dt.timedelta(minutes=settings.invite_lock_minutes)
            if await q.record_invite_failure(ctx.conn, ctx.user.id, settings.invite_max_failures,
                                             lock, now=ctx.now):
                ctx.say(ctx.t("leader.locked", until=formats.moment(ctx.now + lock,
                                                                   ctx.settings.timezone)))
            else:
                ctx.say(ctx.t("leader.expired_code" if expired else "leader.bad_code"))
            return
        await q.clear_invite_failures(ctx.conn, ctx.user.id)
        await q.set_leader_commune(ctx.conn, ctx.user.id, commune)
        ctx.user = await q.user_by_id(ctx.conn, ctx.user.id) or ctx.user
        ctx.say(ctx.t("leader.welcome", commune=commune))
        await self.start(ctx)

    # -- relay session ----------------------------------------------------------------------

    async def start(self, ctx: Context) -> None:
        commune = _commune(ctx)
        if not commune:
            ctx.say(ctx.t("leader.not_leader"))
            return
        ctx.reset()
        ctx.data["relayed"] = []
        if not ctx.user.consented:
            await ctx.show(State.CONSENT)
            return
        await self._choose_dialogue(ctx)

    async def _choose_dialogue(self, ctx: Context) -> None:
        open_now = ctx.settings.open_dialogues(ctx.today)
        if not open_now:
            ctx.reset()
            ctx.say(ctx.t("leader.none_open"))
        elif len(open_now) > 1:
            await ctx.show(State.DIALOGUE)
        else:
            ctx.data["dialogue"] = open_now[0].id
            await ctx.show(State.TOPIC)

    async def ask_consent(self, ctx: Context) -> None:
        ctx.say(ctx.t("leader.consent"), menu([(ctx.t("button.agree"), "lead:consent:yes"),
                                                (ctx.t("button.disagree"), "lead:consent:no")]))

    async def on_consent(self, ctx: Context) -> None:
        if ctx.action == "lead:consent:yes":
            await ctx.record_consent()
            await self._choose_dialogue(ctx)
        elif ctx.action in ("lead:consent:no", CANCEL):
            # Not a leader without her consent: no commune, no alerts, the invite spent without
            # her id, then her row goes like any decliner's.
            await declines.release_declined_leader(ctx.conn, ctx.user.id)
            await ctx.forget_declined("leader6.leader_declined")
        else:
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.CONSENT)

    async def ask_dialogue(self, ctx: Context) -> None:
        choices = [(d.title, f"lead:dlg:{d.id}") for d in ctx.settings.open_dialogues(ctx.today)]
        ctx.say(ctx.t("ask.choose_dialogue"), menu(choices, cancel_label=ctx.t("button.cancel")))

    async def on_dialogue(self, ctx: Context) -> None:
        if ctx.action == CANCEL:
            await self._finish(ctx)
            return
        dialogue = ctx.chosen_open_dialogue("lead:dlg:")
        if dialogue is None:
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.DIALOGUE)
            return
        ctx.data["dialogue"] = dialogue.id
        await ctx.show(State.TOPIC)

    async def ask_topic(self, ctx: Context) -> None:
        dialogue = _dialogue(ctx)
        if dialogue is None:
            return
        choices = [(name, f"lead:topic:{i}") for i, name in enumerate(dialogue.topics, 1)]
        count = len(ctx.data.get("relayed", []))
        ctx.say(ctx.t("leader.topic", commune=_commune(ctx), n=count + 1),
                menu(choices, cancel_label=ctx.t("leader.button.finish"),
                     cancel_keywords=("xong", "ket thuc", "huy")))

    async def on_topic(self, ctx: Context) -> None:
        dialogue = _dialogue(ctx)
        if dialogue is None:
            return
        if ctx.action == CANCEL:
            await self._finish(ctx)
            return
        rest = ctx.action.removeprefix("lead:topic:")
        if not rest.isdigit() or not 1 <= int(rest) <= len(dialogue.topics):
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.TOPIC)
            return
        ctx.data["topic"] = int(rest)
        await ctx.show(State.QUESTION)

    async def ask_question(self, ctx: Context) -> None:
        ctx.say(ctx.t("leader.question", minimum=ctx.settings.question_min_chars,
                      maximum=ctx.settings.question_max_chars), _nav(ctx))

    async def on_question(self, ctx: Context) -> None:
        if await self._navigate(ctx, State.TOPIC):
            return
        text, settings = ctx.text, ctx.settings
        if not any(ch.isalpha() for ch in text) or len(text) < settings.question_min_chars:
            ctx.say(ctx.t("ask.question_too_short", minimum=settings.question_min_chars))
            await ctx.show(State.QUESTION)
            return
        if len(text) > settings.question_max_chars:
            ctx.say(ctx.t("leader.question_too_long", length=len(text),
                          maximum=settings.question_max_chars))
            await ctx.show(State.QUESTION)
            return
        ctx.data["text"] = text
        await ctx.show(State.COUNT)

    async def ask_count(self, ctx: Context) -> None:
        ctx.say(ctx.t("leader.count", maximum=f"{MAX_REPRESENTED:,}".replace(",", ".")),
                _nav(ctx))

    async def on_count(self, ctx: Context) -> None:
        if await self._navigate(ctx, State.QUESTION):
            return
        digits = ctx.text.replace(".", "").replace(",", "").replace(" ", "")
        if not digits.isdigit() or not 1 <= int(digits) <= MAX_REPRESENTED:
            ctx.say(ctx.t("leader.bad_count", maximum=MAX_REPRESENTED))
            await ctx.show(State.COUNT)
            return
        ctx.data["count"] = int(digits)
        await ctx.show(State.DATE)

    async def ask_date(self, ctx: Context) -> None:
        ctx.say(ctx.t("leader.date"),
                menu([(ctx.t("leader.button.skip_date"), "lead:date:skip")],
                     back_label=ctx.t("button.back"), cancel_label=ctx.t("button.cancel")))

    async def on_date(self, ctx: Context) -> None:
        if await self._navigate(ctx, State.COUNT):
            return
        meeting = None
        if ctx.action != "lead:date:skip":
            meeting = _parse_date(ctx.text, ctx.today)
            if meeting is None:
                ctx.say(ctx.t("leader.bad_date"))
                await ctx.show(State.DATE)
                return
        await self._store(ctx, meeting)

    async def _store(self, ctx: Context, meeting: dt.date | None) -> None:
        dialogue = _dialogue(ctx)
        if dialogue is None:
            return
        data = ctx.data
        danger = data.get("danger")
        topic = int(data["topic"])
        # No separate sensitive-data consent here (handlers.sensitive): a relay speaks for a
        # group of members at a branch meeting, not about the leader herself; asking her per
        # relay would record a consent that is not hers to give. It is stored as before, under
        # her own consent, and /rut_dong_y does not touch relays.
        filed = await file_question(ctx, dialogue, Filing(
            kind="relay", commune=_commune(ctx), topic=topic, text=data["text"],
            anonymous=False, represented=int(data["count"]),
            meeting_date=meeting.isoformat() if meeting else None,
            urgent=bool(danger), danger=danger,
        ))
        receipt, cluster_id = filed.receipt, filed.cluster_id
        if danger:  # a relay telling of someone in danger now: staff hear of it now
            for channel, chat_id in ctx.settings.staff_chats.items():
                await q.enqueue(ctx.conn, channel, chat_id, ctx.t(
                    "staff.urgent_stored", receipt=receipt, commune=_commune(ctx),
                    category=danger), purpose="urgent",
                    dedupe_key=f"urgent-stored:{receipt}:{channel}", priority=10, now=ctx.now)
        data["relayed"].append([receipt, topic, int(data["count"])])
        for key in ("text", "topic", "count", "danger"):
            data.pop(key, None)
        ctx.say(ctx.t("leader.stored", receipt=receipt, count=data["relayed"][-1][2]))
        await tell_answer(ctx, cluster_id)  # what she joined: answer, commitment, result
        answer = await q.current_answer(ctx.conn, cluster_id)
        if answer is not None:  # joined an answered cluster: she is sent its answer now
            ctx.say(ctx.t("leader.stored_answered", agency=answer.agency))
        await ctx.show(State.MORE)

    async def ask_more(self, ctx: Context) -> None:
        ctx.say(ctx.t("leader.more"), menu([
            (ctx.t("leader.button.another"), "lead:more"),
            (ctx.t("leader.button.finish"), "lead:finish"),
        ]))

    async def on_more(self, ctx: Context) -> None:
        if ctx.action == "lead:more":
            await ctx.show(State.TOPIC)
        elif ctx.action in ("lead:finish", CANCEL):
            await self._finish(ctx)
        elif len(ctx.text) >= ctx.settings.question_min_chars:
            ctx.say(ctx.t("leader.choose_topic_first"))
            await ctx.show(State.TOPIC)
        else:
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.MORE)

    async def _finish(self, ctx: Context) -> None:
        relayed = ctx.data.get("relayed", [])
        dialogue = _dialogue(ctx, quiet=True)
        if relayed:
            lines = [ctx.t("leader.summary", count=len(relayed),
                           members=sum(r[2] for r in relayed))]
            for receipt, topic, count in relayed:
                name = dialogue.topic_name(topic) if dialogue else str(topic)
                lines.append(ctx.t("leader.summary_item", receipt=receipt, topic=name,
                                   count=count))
            ctx.say("\n".join(lines))
        else:
            ctx.say(ctx.t("leader.nothing_relayed"))
        ctx.reset()
        ctx.say(ctx.t("leader.after"), menu([(ctx.t("leader.button.relay"), "lead:start")]))

    async def _navigate(self, ctx: Context, back_to: str) -> bool:
        if ctx.action == CANCEL:
            await self._finish(ctx)
            return True
        if ctx.action == BACK:
            await ctx.show(back_to)
            return True
        return False

    # -- status of her commune --------------------------------------------------------------

    async def commune_status(self, ctx: Context) -> None:
        """Her commune at a glance: counts of the members' questions, what she relayed herself,
        and members' texts only when config allows (masked, named, never urgent or danger).
        Only after her own consent: this reads the union's records of her commune."""
        commune = _commune(ctx)
        if not commune:
            ctx.say(ctx.t("leader.not_leader"))
            return
        if not ctx.user.consented:
            ctx.reset()
            ctx.data["relayed"] = []
            await ctx.show(State.CONSENT)
            return
        counts = await q.member_counts_of_commune(ctx.conn, commune)
        relays = await q.relays_of_leader(ctx.conn, ctx.user.id, commune)
        total = sum(counts.values())
        if not total and not relays:
            ctx.say(ctx.t("leader.commune_empty", commune=commune))
        else:
            by_status = ", ".join(f"{ctx.status_name(status)}: {n}"
                                  for status, n in sorted(counts.items()))
            lines = [ctx.t("leader.commune_header", commune=commune, count=total,
                           statuses=by_status or "0")]
            if relays:
                lines.append(ctx.t("leader.commune_relays", count=len(relays)))
                lines.extend(_status_line(ctx, row) for row in relays)
            if ctx.settings.leaders_see_member_texts:
                shared = await q.shareable_questions_of_commune(ctx.conn, commune)
                if shared:
                    lines.append(ctx.t("leader.commune_members"))
                    lines.extend(ctx.t("leader.commune_member_item",
                                       status=ctx.status_name(row.status),
                                       text=mask_for_member(row.text, row.asker_name)[:100])
                                 for row in shared)
            ctx.say("\n".join(lines))
        if ctx.state != IDLE:
            await ctx.show(ctx.state)


def _status_line(ctx: Context, row: q.CommuneQuestion) -> str:
    return ctx.t("leader.commune_item", receipt=row.receipt, status=ctx.status_name(row.status),
                 text=row.text[:100], count=row.represented)


def _commune(ctx: Context) -> str:
    configured = ctx.settings.leaders.get(f"{ctx.incoming.channel}:{ctx.incoming.user_id}")
    return ctx.user.leader_commune or configured or ""


def _dialogue(ctx: Context, quiet: bool = False) -> Dialogue | None:
    dialogue = ctx.dialogue()
    if dialogue is None and not quiet:
        ctx.reset()
        ctx.say(ctx.t("error.dialogue_gone"))
    return dialogue


def _nav(ctx: Context):
    return menu([], back_label=ctx.t("button.back"), cancel_label=ctx.t("leader.button.finish"),
                cancel_keywords=("xong", "ket thuc", "huy"))


def _parse_date(text: str, today: dt.date) -> dt.date | None:
    match = _DATE.match(text.strip())
    if not match:
        return None
    year = int(match[3]) if match[3] else today.year
    if year < 100:
        year += 2000
    try:
        day = dt.date(year, int(match[2]), int(match[1]))
    except ValueError:
        return None
    return day if day <= today else None  # a meeting that already happened

