"""A member asks a question: consent → commune → topic → question → (similar?) → name → confirm
→ (sensitive data named? its separate consent, handlers.sensitive) → stored.

Each state has a prompt (`ask_*`) that shows its question and a handler (`on_*`) for the answer.
Diagram: ask_question.mmd beside this file.
"""

from __future__ import annotations

import re
from typing import Any

from storage import queries as q

from . import formats, sensitive
from .answers import tell_answer
from .domain import Dialogue
from .engine import IDLE, Context
from .followup import member_lines
from .menus import BACK, CANCEL, menu
from .privacy import mask_for_member, shared_words
from .questions import Filing, file_question
from .text import fold
from .types import Option
from .yes_no import yes_or_no

__all__ = ["AskQuestion", "State"]

COMMUNES_PER_PAGE = 8
MAX_SIMILAR = 3


class State:
    DIALOGUE = "ask.dialogue"
    CONSENT = "ask.consent"
    COMMUNE = "ask.commune"
    TOPIC = "ask.topic"
    QUESTION = "ask.question"
    SIMILAR = "ask.similar"
    ANONYMITY = "ask.anonymity"
    CONFIRM = "ask.confirm"
    SENSITIVE = "ask.sensitive"  # separate consent for health, violence, ethnicity, private life
    EDIT = "ask.edit"
    APPEND = "ask.append"
    ABANDON = "ask.abandon"


_SAFETY_KEYS = ("danger", "urgent_question", "urgent_receipt", "dialogue")

# Where "Quay lại" leads from each step.
_BACK = {
    State.CONSENT: IDLE,
    State.COMMUNE: State.CONSENT,
    State.TOPIC: State.COMMUNE,
    State.QUESTION: State.TOPIC,
    State.SIMILAR: State.QUESTION,
    State.ANONYMITY: State.QUESTION,
    State.CONFIRM: State.ANONYMITY,
    State.SENSITIVE: State.CONFIRM,
    State.EDIT: State.CONFIRM,
}


class AskQuestion:
    """The member flow. Also owns the idle state and the commands every user has."""

    def __init__(self) -> None:
        self.states = {
            IDLE: self.on_idle,
            State.DIALOGUE: self.on_dialogue,
            State.CONSENT: self.on_consent,
            State.COMMUNE: self.on_commune,
            State.TOPIC: self.on_topic,
            State.QUESTION: self.on_question,
            State.QUESTION + ":media": self.on_question_media,
            State.SIMILAR: self.on_similar,
            State.ANONYMITY: self.on_anonymity,
            State.CONFIRM: self.on_confirm,
            State.SENSITIVE: self.on_sensitive,
            State.EDIT: self.on_edit,
            State.APPEND: self.on_append,
            State.ABANDON: self.on_abandon,
        }
        self.prompts = {
            IDLE: self.ask_idle,
            State.DIALOGUE: self.ask_dialogue,
            State.CONSENT: self.ask_consent,
            State.COMMUNE: self.ask_commune,
            State.TOPIC: self.ask_topic,
            State.QUESTION: self.ask_question,
            State.SIMILAR: self.ask_similar,
            State.ANONYMITY: self.ask_anonymity,
            State.CONFIRM: self.ask_confirm,
            State.SENSITIVE: sensitive.ask_consent,
            State.EDIT: self.ask_edit,
            State.APPEND: self.ask_append,
            State.ABANDON: self.ask_abandon,
        }

    # -- commands ---------------------------------------------------------------------------

    async def command(self, ctx: Context, name: str, args: str) -> bool:
        if name == "start":
            await self.start(ctx)
        elif name in ("help", "huong_dan", "trogiup"):
            ctx.say(ctx.t("help.member"))
            if ctx.state != IDLE:
                await ctx.show(ctx.state)
        elif name in ("cua_toi", "cuatoi"):
            await self.my_questions(ctx)
        elif name in ("huy", "cancel"):
            await self.cancel(ctx)
        else:
            return False
        return True

    async def start(self, ctx: Context) -> None:
        if _in_progress(ctx):
            ctx.data["resume"] = ctx.state
            await ctx.show(State.ABANDON)
            return
        await self.begin(ctx)

    async def begin(self, ctx: Context, draft: str = "") -> None:
        """A fresh question: choose the dialogue (if several are open), then consent."""
        # An urgent message already stored keeps its receipt through the new start.
        safety = {k: ctx.data[k] for k in _SAFETY_KEYS if k in ctx.data}
        ctx.reset()
        ctx.data.update(safety)
        if draft:
            ctx.data["text"] = draft
        open_now = ctx.settings.open_dialogues(ctx.today)
        if not open_now:
            ctx.say(_closed_message(ctx))
            return
        if len(open_now) > 1:
            await ctx.show(State.DIALOGUE)
            return
        ctx.data["dialogue"] = open_now[0].id
        await ctx.show(State.CONSENT)

    async def cancel(self, ctx: Context) -> None:
        ctx.reset()
        ctx.say(ctx.t("ask.cancelled"), menu([(ctx.t("button.new_question"), "ask:new")]))

    async def my_questions(self, ctx: Context) -> None:
        rows = await q.questions_of_user(ctx.conn, ctx.user.id)
        if not rows:
            ctx.say(ctx.t("mine.none"))
        else:
            lines = [ctx.t("mine.header", count=len(rows))]
            for row in rows:  # with which agency and by when (handlers/followup.py)
                extra = [] if row.rejected_reason else await member_lines(ctx, row)
                lines.append("\n".join([_my_line(ctx, row), *extra]))
            ctx.say("\n\n".join(lines))
        if ctx.state != IDLE:
            await ctx.show(ctx.state)

    # -- idle -------------------------------------------------------------------------------

    async def ask_idle(self, ctx: Context) -> None:
        ctx.say(ctx.t("idle.prompt"), menu([
            (ctx.t("button.new_question"), "ask:new"),
            (ctx.t("button.my_questions"), "ask:mine"),
        ]))

    async def on_idle(self, ctx: Context) -> None:
        if ctx.action == "ask:new":
            await self.begin(ctx)
        elif ctx.action == "ask:mine":
            await self.my_questions(ctx)
        elif len(ctx.text) >= ctx.settings.question_min_chars:
            # She typed her question straight away: keep it and collect the rest around it.
            await self.begin(ctx, draft=ctx.text[: ctx.settings.question_max_chars])
        else:
            await self.begin(ctx)

    # -- dialogue ---------------------------------------------------------------------------

    async def ask_dialogue(self, ctx: Context) -> None:
        open_now = ctx.settings.open_dialogues(ctx.today)
        if not open_now:
            ctx.reset()
            ctx.say(_closed_message(ctx))
            return
        choices = [(d.title, f"ask:dlg:{d.id}") for d in open_now]
        ctx.say(ctx.t("ask.choose_dialogue"), menu(choices, cancel_label=ctx.t("button.cancel")))

    async def on_dialogue(self, ctx: Context) -> None:
        if ctx.action == CANCEL:
            await self.cancel(ctx)
            return
        dialogue = ctx.chosen_open_dialogue("ask:dlg:")
        if dialogue is None:
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.DIALOGUE)
            return
        ctx.data["dialogue"] = dialogue.id
        await ctx.show(State.CONSENT)

    # -- consent ----------------------------------------------------------------------------

    async def ask_consent(self, ctx: Context) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None:
            return
        # After a danger disclosure nothing cheerful: no welcome, straight to what is needed.
        welcome = "" if ctx.data.get("danger") else ctx.t(
            "ask.welcome", union=ctx.settings.union_name, title=dialogue.title,
            theme=dialogue.theme, closes=formats.day(dialogue.closes),
        )
        if ctx.user.consented:
            if welcome:
                ctx.say(welcome)
            await ctx.show(State.COMMUNE)
            return
        ctx.say("\n\n".join(t for t in (welcome, ctx.t("ask.consent")) if t), _consent_menu(ctx))

    async def on_consent(self, ctx: Context) -> None:
        said = yes_or_no(ctx.text, ctx.services.locale) if ctx.text and not ctx.action else None
        if ctx.action == "ask:consent:yes" or said is True:
            await ctx.record_consent()
            await ctx.show(State.COMMUNE)
        elif ctx.action in ("ask:consent:no", CANCEL) or said is False:
            await ctx.forget_declined()  # nothing of hers is kept, not even a typed draft
        else:
            # A short re-ask with the same two choices, not the whole welcome again.
            ctx.say(ctx.t("consent_reask.text"), _consent_menu(ctx))

    # -- commune ----------------------------------------------------------------------------

    async def ask_commune(self, ctx: Context) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None:
            return
        book = ctx.services.communes(dialogue.province_code)
        confirm = ctx.data.get("commune_confirm")
        if confirm in book.names:
            old = ctx.data.get("commune_old", "")
            text = (ctx.t("old_commune.confirm_legacy", old=old, commune=confirm) if old
                    else ctx.t("old_commune.confirm", commune=confirm))
            ctx.say(text, _nav_menu(ctx, [
                (ctx.t("old_commune.yes", commune=confirm), "ask:cmok"),
                (ctx.t("old_commune.no"), "ask:cmno"),
            ], back=ctx.user.consented))
            return
        candidates = ctx.data.get("commune_candidates")
        if candidates:
            choices = [(name, f"ask:cm:{book.names.index(name)}") for name in candidates
                       if name in book.names]
            text = ctx.t("ask.commune_candidates")
        else:
            page = min(ctx.data.get("page", 0), book.pages(COMMUNES_PER_PAGE) - 1)
            first = page * COMMUNES_PER_PAGE
            choices = [(name, f"ask:cm:{first + i}")
                       for i, name in enumerate(book.page(page, COMMUNES_PER_PAGE))]
            if page + 1 < book.pages(COMMUNES_PER_PAGE):
                choices.append((ctx.t("button.next_page"), "ask:page:next"))
            if page > 0:
                choices.append((ctx.t("button.prev_page"), "ask:page:prev"))
            text = ctx.t("ask.commune", page=page + 1, pages=book.pages(COMMUNES_PER_PAGE))
        ctx.say(text, _nav_menu(ctx, choices, back=ctx.user.consented), columns=2)

    async def on_commune(self, ctx: Context) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None:
            return
        book = ctx.services.communes(dialogue.province_code)
        if await self._navigate(ctx):
            return
        if ctx.action in ("ask:page:next", "ask:page:prev"):
            step = 1 if ctx.action.endswith("next") else -1
            ctx.data["page"] = max(0, ctx.data.get("page", 0) + step)
            await ctx.show(State.COMMUNE)
            return
        index = _int_suffix(ctx.action, "ask:cm:")
        if index is not None and index < len(book):
            await self._commune_chosen(ctx, book.names[index])
            return
        if ctx.data.get("commune_confirm") and await self._commune_confirmed(ctx):
            return
        typed = ctx.text if ctx.text and not ctx.action else ""
        exact = book.exact(typed) if typed else None
        if exact:
            await self._commune_chosen(ctx, exact)
            return
        old = book.old_name(typed) if typed else None
        if old:  # a pre-2025 name: the commune it merged into, only if she says yes
            ctx.data["commune_confirm"], ctx.data["commune_old"] = old[1], old[0]
            await ctx.show(State.COMMUNE)
            return
        found = book.search(typed) if typed else []
        if len(found) == 1 and not book.confident(typed, found[0]):
            ctx.data["commune_confirm"] = found[0]  # looks like it, may be another: ask
            await ctx.show(State.COMMUNE)
        elif len(found) == 1:
            await self._commune_chosen(ctx, found[0])
        elif found:
            ctx.data["commune_candidates"] = found
            await ctx.show(State.COMMUNE)
        else:
            ctx.data.pop("commune_candidates", None)
            # Never echo what she wrote after a disclosure: it may be her story, not a name.
            ctx.say(ctx.t("ask.commune_not_found", typed=ctx.text[:60])
                    if ctx.text and not ctx.data.get("danger")
                    else ctx.t("error.choose_from_list"))
            await ctx.show(State.COMMUNE)

    async def _commune_confirmed(self, ctx: Context) -> bool:
        """Her answer to "Ý chị là Xã …?"; False when she typed another name instead."""
        name = ctx.data.pop("commune_confirm")
        old = ctx.data.pop("commune_old", "")
        said = yes_or_no(ctx.text, ctx.services.locale) if ctx.text and not ctx.action else None
        if ctx.action == "ask:cmok" or said is True:
            await self._commune_chosen(ctx, name)
            return True
        if ctx.action == "ask:cmno" or said is False:
            await ctx.show(State.COMMUNE)  # the list, to choose from
            return True
        if ctx.text and not ctx.action:
            return False  # another name: searched afresh
        ctx.data["commune_confirm"], ctx.data["commune_old"] = name, old
        ctx.say(ctx.t("old_commune.reask", commune=name))
        await ctx.show(State.COMMUNE)
        return True

    async def _commune_chosen(self, ctx: Context, name: str) -> None:
        ctx.data["commune"] = name
        ctx.data.pop("commune_confirm", None)
        ctx.data.pop("commune_old", None)
        ctx.data.pop("commune_candidates", None)
        ctx.data.pop("page", None)
        await self._next(ctx, State.TOPIC)

    # -- topic ------------------------------------------------------------------------------

    async def ask_topic(self, ctx: Context) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None:
            return
        choices = [(name, f"ask:topic:{i}") for i, name in enumerate(dialogue.topics, 1)]
        ctx.say(ctx.t("ask.topic", commune=ctx.data.get("commune", "")), _nav_menu(ctx, choices))

    async def on_topic(self, ctx: Context) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None or await self._navigate(ctx):
            return
        number = _int_suffix(ctx.action, "ask:topic:")
        if number is None and ctx.text:
            number = topic_from_text(ctx.text, dialogue.topics)
            if _reads_as_question(ctx, number):
                # She wrote her question here: keep it whole (a topic word in it is no reason
                # to drop it, red-team pass 4, F5) and ask only for the topic.
                self._keep_early_question(ctx)
                await ctx.show(State.TOPIC)
                return
        if number is None or not 1 <= number <= len(dialogue.topics):
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.TOPIC)
            return
        ctx.data["topic"] = number
        if ctx.data.get("text") and not ctx.data.get("editing"):
            await self._question_ready(ctx)  # she already typed it at the start
            return
        if ctx.data.get("draft_cut") and not ctx.data.get("editing"):
            # Typed too long at the topic menu: the same choice as at the question step.
            ctx.say(_too_long(ctx))
        await self._next(ctx, State.QUESTION)

    def _keep_early_question(self, ctx: Context) -> None:
        maximum = ctx.settings.question_max_chars
        if len(ctx.text) > maximum:  # never cut without a word: she chooses at the next step
            _hold_cut(ctx, ctx.text)
            ctx.data.pop("text", None)
            ctx.say(ctx.t("ask.question_long_choose_topic", maximum=maximum))
            return
        ctx.data["text"] = ctx.text
        ctx.say(ctx.t("ask.question_kept_choose_topic"))

    # -- question ---------------------------------------------------------------------------

    async def ask_question(self, ctx: Context) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None:
            return
        cut = bool(ctx.data.get("draft_cut"))
        key = "ask.question_more" if ctx.data.get("draft") and not cut else "ask.question"
        ctx.say(ctx.t(key, topic=dialogue.topic_name(ctx.data.get("topic", 0)),
                      minimum=ctx.settings.question_min_chars,
                      maximum=ctx.settings.question_max_chars), _nav_menu(ctx, _cut_choice(ctx)))

    async def on_question(self, ctx: Context) -> None:
        if await self._navigate(ctx):
            return
        if ctx.action == "ask:truncate" and ctx.data.get("draft"):
            ctx.data["text"] = ctx.data.pop("draft")[: ctx.settings.question_max_chars]
            await self._question_ready(ctx)
            return
        # A draft cut from an over-long message is replaced by what she sends next, as she
        # was told; a short draft is added to.
        draft = "" if ctx.data.get("draft_cut") else ctx.data.get("draft", "")
        text = _join(draft, ctx.text)
        settings = ctx.settings
        if not any(ch.isalpha() for ch in ctx.text):
            ctx.say(ctx.t("ask.question_no_words"))
            await ctx.show(State.QUESTION)
            return
        if len(text) > settings.question_max_chars:
            # Only what "Dùng phần đầu" would send is kept, and she is told so: never "kept
            # unchanged" for what was dropped.
            _hold_cut(ctx, text)
            ctx.say(_too_long(ctx), _nav_menu(ctx, _cut_choice(ctx)))
            return
        if len(text) < settings.question_min_chars:
            ctx.data["draft"] = text
            ctx.data.pop("draft_cut", None)
            ctx.say(ctx.t("ask.question_too_short", minimum=settings.question_min_chars))
            await ctx.show(State.QUESTION)
            return
        ctx.data.pop("draft", None)
        ctx.data["text"] = text
        await self._question_ready(ctx)

    async def on_question_media(self, ctx: Context) -> None:
        incoming = ctx.incoming
        if incoming.kind.value == "voice" and incoming.media_url:
            # A spoken question is kept (its URL) so staff can listen to it.
            ctx.data["voice_url"] = incoming.media_url[:1000]
            ctx.data["text"] = ctx.t("ask.voice_placeholder")
            ctx.say(ctx.t("ask.voice_received"))
            await self._question_ready(ctx, look_for_similar=False)
            return
        ctx.say(ctx.t(f"media.{incoming.kind.value}"))
        await ctx.show(State.QUESTION)

    async def _question_ready(self, ctx: Context, look_for_similar: bool = True) -> None:
        for key in ("draft", "draft_cut", "draft_length"):
            ctx.data.pop(key, None)
        look_for_similar = look_for_similar and not ctx.data.get("danger")
        if look_for_similar and not ctx.data.get("editing") and await self._similar(ctx):
            await ctx.show(State.SIMILAR)
            return
        await self._next(ctx, State.ANONYMITY)

    # -- similar questions ------------------------------------------------------------------

    async def _similar(self, ctx: Context) -> list[dict[str, Any]]:
        """Candidates from the matching index, each re-checked in the database: only ids are
        kept in her conversation, never another member's words."""
        matcher = ctx.services.matcher
        if matcher is None:
            return []
        dialogue_id = ctx.data["dialogue"]
        found = await matcher.similar(ctx.conn, dialogue_id, ctx.data["text"],
                                      ctx.data.get("topic"))
        items: list[dict[str, int]] = []
        for m in found:
            if len(items) == MAX_SIMILAR:
                break
            offer = await q.offer_of_cluster(ctx.conn, int(m.cluster_id), dialogue_id,
                                             int(m.item_id))
            if offer is not None and _worth_offering(offer, ctx.data["text"]):
                items.append({"cluster": int(m.cluster_id), "question": int(m.item_id)})
        ctx.data["similar"] = items
        return items

    async def ask_similar(self, ctx: Context) -> None:
        offers = await _offers(ctx)
        if not offers:  # all became unofferable (merged, flagged urgent, deleted) meanwhile
            ctx.data.pop("similar", None)
            await self._next(ctx, State.ANONYMITY)
            return
        lines = [ctx.t("ask.similar_intro")]
        choices = []
        for i, offer in enumerate(offers, 1):
            text = offer_text(offer, ctx.data.get("text", ""))
            lines.append(ctx.t("ask.similar_item", n=i, text=_shorten(text, 160),
                               count=offer.count))
            choices.append((ctx.t("button.support", n=i), f"ask:sup:{i}"))
        choices.append((ctx.t("button.mine_differs"), "ask:sup:none"))
        ctx.say("\n\n".join(lines), _nav_menu(ctx, choices))

    async def on_similar(self, ctx: Context) -> None:
        if await self._navigate(ctx):
            return
        if ctx.action == "ask:sup:none":
            # She says hers is different: respect that, never fold it into what she declined.
            ctx.data["declined"] = [item["cluster"] for item in ctx.data.pop("similar", [])]
            await self._next(ctx, State.ANONYMITY)
            return
        number = _int_suffix(ctx.action, "ask:sup:")
        items = ctx.data.get("similar", [])
        if number is None or not 1 <= number <= len(items):
            await self._offer_append(ctx, State.SIMILAR)
            return
        await self._support(ctx, items[number - 1])

    async def _support(self, ctx: Context, item: dict[str, Any]) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None:
            return
        cluster_id = int(item["cluster"])
        if not await q.cluster_exists(ctx.conn, cluster_id, dialogue.id):
            ctx.say(ctx.t("ask.similar_gone"))
            await self._next(ctx, State.ANONYMITY)
            return
        existing = await q.user_supports_cluster(ctx.conn, ctx.user.id, cluster_id)
        if existing:
            ctx.reset()
            answered = await q.current_answer(ctx.conn, cluster_id) is not None
            if answered:
                await tell_answer(ctx, cluster_id)  # sent once; this only fills a gap
            key = "ask.already_supported_answered" if answered else "ask.already_supported"
            ctx.say(ctx.t(key, receipt=existing), _after_menu(ctx))
            return
        receipt = (await file_question(ctx, dialogue, Filing(
            kind="support", commune=ctx.data.get("commune", ""), topic=ctx.data["topic"],
            text="", anonymous=True, supports_question_id=int(item["question"]),
        ), cluster_id=cluster_id)).receipt
        ctx.reset()
        await tell_answer(ctx, cluster_id)  # what she joined: answer, commitment, result
        answer = await q.current_answer(ctx.conn, cluster_id)
        if answer is not None:  # answered already: she was sent it now, not promised it
            ctx.say(ctx.t("ask.supported_answered", receipt=receipt, agency=answer.agency),
                    _after_menu(ctx))
            return
        ctx.say(ctx.t("ask.supported", receipt=receipt,
                      deadline=formats.day(dialogue.answer_deadline)), _after_menu(ctx))

    # -- anonymity --------------------------------------------------------------------------

    async def ask_anonymity(self, ctx: Context) -> None:
        ctx.say(ctx.t("ask.anonymity"), _nav_menu(ctx, [
            (ctx.t("button.named"), "ask:anon:0"),
            (ctx.t("button.anonymous"), "ask:anon:1"),
        ]))

    async def on_anonymity(self, ctx: Context) -> None:
        if await self._navigate(ctx):
            return
        if ctx.action not in ("ask:anon:0", "ask:anon:1"):
            await self._offer_append(ctx, State.ANONYMITY)
            return
        ctx.data["anonymous"] = ctx.action == "ask:anon:1"
        await ctx.show(State.CONFIRM)

    # -- confirm ----------------------------------------------------------------------------

    async def ask_confirm(self, ctx: Context) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None:
            return
        ctx.data.pop("editing", None)
        name = ctx.t("ask.anonymous") if ctx.data.get("anonymous") else (
            ctx.user.display_name or ctx.t("ask.named"))
        ctx.say(ctx.t(
            "ask.confirm", dialogue=dialogue.title, commune=ctx.data.get("commune", ""),
            topic=dialogue.topic_name(ctx.data.get("topic", 0)), text=ctx.data.get("text", ""),
            name=name,
        ), menu([
            (ctx.t("button.send"), "ask:send"),
            (ctx.t("button.edit"), "ask:edit"),
        ], back_label=ctx.t("button.back"), cancel_label=ctx.t("button.cancel"),
            cancel_keywords=("huy", "thoat", "dung", "khong gui")))

    async def on_confirm(self, ctx: Context) -> None:
        if await self._navigate(ctx):
            return
        if ctx.action == "ask:edit":
            await ctx.show(State.EDIT)
        elif ctx.action == "ask:send":
            if sensitive.needs_consent(ctx):  # asked apart, after any danger was handled
                await ctx.show(State.SENSITIVE)
                return
            await self._store(ctx)
        else:
            await self._offer_append(ctx, State.CONFIRM)

    async def on_sensitive(self, ctx: Context) -> None:
        if await self._navigate(ctx):
            return
        if await sensitive.on_consent(ctx, rewrite_state=State.QUESTION):
            await self._store(ctx)

    async def _store(self, ctx: Context) -> None:
        dialogue = _dialogue_or_none(ctx)
        if dialogue is None:
            return
        data = ctx.data
        if data.get("urgent_question"):
            await self._complete_urgent(ctx, dialogue)
            return
        if not dialogue.is_open(ctx.today):
            ctx.reset()
            ctx.say(_closed_message(ctx))
            return
        urgent = bool(data.get("danger"))
        # A new cluster even near one she said differs from hers goes on staff's list of
        # possible duplicates: staff judge (one press each).
        filed = await file_question(ctx, dialogue, Filing(
            kind="member", commune=data.get("commune", ""), topic=int(data["topic"]),
            text=data["text"], anonymous=bool(data.get("anonymous")),
            voice_url=data.get("voice_url"), urgent=urgent, danger=data.get("danger"),
        ), declined=data.get("declined", []))
        receipt, cluster_id = filed.receipt, filed.cluster_id
        await sensitive.record_consent(ctx, filed.question_id)
        if urgent:
            await _alert_staff_urgent(ctx, receipt)
        ctx.reset()
        await tell_answer(ctx, cluster_id)  # what she joined: answer, commitment, result
        answer = await q.current_answer(ctx.conn, cluster_id)
        if answer is not None:  # she joined an answered cluster: sent its answer now
            ctx.say(ctx.t("ask.stored_answered", receipt=receipt, agency=answer.agency),
                    _after_menu(ctx))
            return
        ctx.say(_stored_message(ctx, receipt, dialogue, urgent), _after_menu(ctx))

    async def _complete_urgent(self, ctx: Context, dialogue: Dialogue) -> None:
        """Her message was stored at once because it spoke of danger: fill in the rest."""
        data = ctx.data
        receipt = await q.complete_urgent_question(
            ctx.conn, int(data["urgent_question"]), data.get("commune", ""), int(data["topic"]),
            data["text"], bool(data.get("anonymous")), data.get("voice_url"))
        await sensitive.record_consent(ctx, int(data["urgent_question"]))
        await _alert_staff_urgent(ctx, receipt)
        ctx.reset()
        ctx.say(_stored_message(ctx, receipt, dialogue, urgent=True), _after_menu(ctx))

    # -- edit -------------------------------------------------------------------------------

    async def ask_edit(self, ctx: Context) -> None:
        ctx.say(ctx.t("ask.edit"), _nav_menu(ctx, [
            (ctx.t("button.edit_commune"), "ask:ed:" + State.COMMUNE),
            (ctx.t("button.edit_topic"), "ask:ed:" + State.TOPIC),
            (ctx.t("button.edit_question"), "ask:ed:" + State.QUESTION),
            (ctx.t("button.edit_name"), "ask:ed:" + State.ANONYMITY),
        ]))

    async def on_edit(self, ctx: Context) -> None:
        if await self._navigate(ctx):
            return
        target = ctx.action.removeprefix("ask:ed:")
        if target not in (State.COMMUNE, State.TOPIC, State.QUESTION, State.ANONYMITY):
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.EDIT)
            return
        ctx.data["editing"] = True
        await ctx.show(target)

    # -- a second message mid-flow ----------------------------------------------------------

    async def _offer_append(self, ctx: Context, back_to: str) -> None:
        """Free text where a choice was expected: maybe she is adding to her question."""
        if not ctx.text or not any(ch.isalpha() for ch in ctx.text):
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(back_to)
            return
        ctx.data["pending_text"] = ctx.text[: ctx.settings.question_max_chars]
        ctx.data["append_return"] = back_to
        await ctx.show(State.APPEND)

    async def ask_append(self, ctx: Context) -> None:
        ctx.say(ctx.t("ask.append", text=_shorten(ctx.data.get("pending_text", ""), 200)),
                menu([(ctx.t("button.append_yes"), "ask:app:yes"),
                      (ctx.t("button.append_no"), "ask:app:no")]))

    async def on_append(self, ctx: Context) -> None:
        back_to = ctx.data.pop("append_return", State.CONFIRM)
        pending = ctx.data.pop("pending_text", "")
        if ctx.action == "ask:app:yes":
            joined = _join(ctx.data.get("text", ""), pending)
            if len(joined) > ctx.settings.question_max_chars:
                ctx.say(ctx.t("ask.append_too_long", maximum=ctx.settings.question_max_chars))
            else:
                ctx.data["text"] = joined
                ctx.say(ctx.t("ask.appended"))
        elif ctx.action != "ask:app:no":
            ctx.data["append_return"], ctx.data["pending_text"] = back_to, pending
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.APPEND)
            return
        await ctx.show(back_to)

    # -- /start mid-flow --------------------------------------------------------------------

    async def ask_abandon(self, ctx: Context) -> None:
        ctx.say(ctx.t("ask.abandon"), menu([
            (ctx.t("button.continue"), "ask:resume"),
            (ctx.t("button.restart"), "ask:restart"),
        ]))

    async def on_abandon(self, ctx: Context) -> None:
        resume = ctx.data.pop("resume", IDLE)
        if ctx.action == "ask:restart":
            await self.begin(ctx)
        elif ctx.action == "ask:resume":
            await ctx.show(resume)
        else:
            ctx.data["resume"] = resume
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.ABANDON)

    # -- navigation -------------------------------------------------------------------------

    async def _navigate(self, ctx: Context) -> bool:
        """Handle Quay lại and Hủy; True when the input was one of them."""
        if ctx.action == CANCEL:
            await self.cancel(ctx)
            return True
        if ctx.action != BACK:
            return False
        for key in ("commune_candidates", "commune_confirm", "commune_old"):
            ctx.data.pop(key, None)
        if ctx.data.pop("editing", None):
            await ctx.show(State.CONFIRM)
            return True
        target = _BACK.get(ctx.state, IDLE)
        if target == State.CONSENT and ctx.user.consented:
            target = IDLE
        if target == IDLE:
            ctx.reset()
        await ctx.show(target)
        return True

    async def _next(self, ctx: Context, state: str) -> None:
        """Go on to `state`, or back to the confirmation when she was editing one field."""
        if ctx.data.get("editing") and "text" in ctx.data and "anonymous" in ctx.data:
            await ctx.show(State.CONFIRM)
        else:
            await ctx.show(state)


# -- helpers ------------------------------------------------------------------------------------


def _consent_menu(ctx: Context) -> tuple[Option, ...]:
    return menu([(ctx.t("button.agree"), "ask:consent:yes"),
                 (ctx.t("button.disagree"), "ask:consent:no")])


def _nav_menu(ctx: Context, choices: list[tuple[str, str]], back: bool = True) -> tuple[
        Option, ...]:
    return menu(choices, back_label=ctx.t("button.back") if back else None,
                cancel_label=ctx.t("button.cancel"))


def _after_menu(ctx: Context) -> tuple[Option, ...]:
    return menu([(ctx.t("button.new_question"), "ask:new"),
                 (ctx.t("button.my_questions"), "ask:mine")])


def _stored_message(ctx: Context, receipt: str, dialogue: Dialogue, urgent: bool) -> str:
    # After a disclosure no written answer months away: staff write to her through the bot.
    if urgent:
        return ctx.t("danger.stored", receipt=receipt)
    return ctx.t("ask.stored", receipt=receipt, deadline=formats.day(dialogue.answer_deadline))


def _dialogue_or_none(ctx: Context) -> Dialogue | None:
    dialogue = ctx.dialogue()
    if dialogue is None:  # config changed under a half-done conversation
        ctx.reset()
        ctx.say(ctx.t("error.dialogue_gone"))
    return dialogue


def _closed_message(ctx: Context) -> str:
    today = ctx.today
    upcoming = sorted((d for d in ctx.settings.dialogues if d.opens > today), key=lambda d: d.opens)
    if upcoming:
        d = upcoming[0]
        return ctx.t("ask.not_open_yet", title=d.title, opens=formats.day(d.opens),
                     closes=formats.day(d.closes))
    past = sorted(ctx.settings.dialogues, key=lambda d: d.closes)
    d = past[-1]
    return ctx.t("ask.closed", title=d.title, closes=formats.day(d.closes))


def _in_progress(ctx: Context) -> bool:
    return ctx.state not in (IDLE, State.ABANDON) and bool(ctx.data)


_TOPIC_FILLER = frozenset({"va", "cua", "cho", "trong", "voi", "cac", "nhung", "phu", "nu",
                           "tre", "em", "o", "co", "so", "khac"})


def _hold_cut(ctx: Context, text: str) -> None:
    """An over-long question: only its first `question_max_chars` are held, as "Dùng phần
    đầu" would send them, and how long it was, for `_too_long`."""
    ctx.data["draft"] = text[: ctx.settings.question_max_chars]
    ctx.data["draft_cut"] = True
    ctx.data["draft_length"] = len(text)


def _too_long(ctx: Context) -> str:
    """What she is told of the over-long question `_hold_cut` held."""
    length, maximum = ctx.data.get("draft_length", 0), ctx.settings.question_max_chars
    return ctx.t("ask.question_too_long", length=length, maximum=maximum,
                 dropped=length - maximum)


# More words than anyone types to name a topic ("bạo lực gia đình", "nước sạch môi trường").
_QUESTION_WORDS = 6


def _reads_as_question(ctx: Context, topic: int | None) -> bool:
    """What she typed at the topic menu is her question, not a topic named in words."""
    if len(ctx.text) < ctx.settings.question_min_chars:
        return False
    return topic is None or len(ctx.text.split()) >= _QUESTION_WORDS


def topic_from_text(text: str, topics: tuple[str, ...]) -> int | None:
    """A topic named in words ("vay von", "nuoc sach", "bao luc"): the one topic sharing the
    most meaningful words with what she typed, or None when none or several tie."""
    if fold(text).strip(" .!") in ("khac", "cai khac", "van de khac"):
        return len(topics)
    words = {w for w in re.findall(r"\w+", fold(text)) if len(w) > 1} - _TOPIC_FILLER
    if not words:
        return None
    scores = []
    for number, name in enumerate(topics, 1):
        topic_words = set(re.findall(r"\w+", fold(name))) - _TOPIC_FILLER
        scores.append((len(words & topic_words), number))
    scores.sort(reverse=True)
    best, number = scores[0]
    if best == 0 or (len(scores) > 1 and scores[1][0] == best):
        return None
    return number


def _int_suffix(action: str, prefix: str) -> int | None:
    if not action.startswith(prefix):
        return None
    rest = action.removeprefix(prefix)
    return int(rest) if rest.isdigit() and len(rest) < 4 else None


def _cut_choice(ctx: Context) -> list[tuple[str, str]]:
    """"Dùng phần đầu" while a draft cut from an over-long message waits."""
    return [(ctx.t("button.truncate"), "ask:truncate")] if ctx.data.get("draft_cut") else []


def _join(first: str, second: str) -> str:
    return f"{first} {second}".strip() if first else second


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def offer_text(offer: q.Offer, her_text: str) -> str:
    """What another member reads of a cluster: staff's wording as written. Before staff wrote
    one, none of the other woman's words: a masker misses names written without a cue, and her
    bản, her children's ages, her husband's job identify her in a small commune. So she reads
    only the words she typed herself that the other question shares ("… vay vốn ưu đãi …")."""
    if offer.approved:
        return mask_for_member(offer.text, "")  # staff may have pasted her details in it
    return shared_words(her_text, mask_for_member(offer.text, offer.asker_name))


def _worth_offering(offer: q.Offer, her_text: str) -> bool:
    """Only an offer she can recognise by her own words (or staff's wording): one matched by a
    name, a place or a number she guessed would tell her that such a question exists."""
    return offer.approved or offer_text(offer, her_text) != "…"


async def _offers(ctx: Context) -> list[q.Offer]:
    """The offers still shareable now, re-read from the database each time they are shown;
    the ones that no longer are (merged, flagged urgent, deleted) are dropped from her list,
    so the numbers on the buttons match what she reads."""
    offers, kept = [], []
    for item in ctx.data.get("similar", []):
        offer = await q.offer_of_cluster(ctx.conn, int(item["cluster"]), ctx.data["dialogue"],
                                         int(item.get("question", 0)) or None)
        if offer is not None:
            offers.append(offer)
            kept.append(item)
    ctx.data["similar"] = kept
    return offers


def _my_line(ctx: Context, row: q.MyQuestion) -> str:
    status = ctx.status_name(row.status)
    text = _shorten(_unworded(ctx, row) if row.shared else row.text, 120)
    line = ctx.t("mine.item" if text else "mine.item_erased", receipt=row.receipt,
                 status=status, text=text)
    if row.kind == "support":
        line += "\n" + ctx.t("mine.supported")
    if row.rejected_reason:
        line += "\n" + ctx.t("mine.rejected", reason=row.rejected_reason)
    elif row.answer:
        line += "\n" + ctx.t("mine.answer", agency=row.answered_by or "",
                             answer=_shorten(row.answer, 500))
    return line


def _unworded(ctx: Context, row: q.MyQuestion) -> str:
    """A question she supports that staff have not worded yet: its topic, never the other
    woman's words (see offer_text)."""
    dialogue = ctx.settings.dialogue(row.dialogue_id)
    topic = dialogue.topic_name(row.topic) if dialogue else ""
    return ctx.t("names6.mine_unworded", topic=topic)


async def _alert_staff_urgent(ctx: Context, receipt: str) -> None:
    """Tell staff now, outside the digest, that an urgent question was stored."""
    for channel, chat_id in ctx.settings.staff_chats.items():
        await q.enqueue(
            ctx.conn, channel, chat_id,
            ctx.t("staff.urgent_stored", receipt=receipt, commune=ctx.data.get("commune", "?"),
                  category=ctx.data.get("danger", "")),
            purpose="urgent", dedupe_key=f"urgent-stored:{receipt}:{channel}", priority=10,
            now=ctx.now, about_user=ctx.user.id,
        )
