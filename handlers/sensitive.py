"""Sensitive data in a question: a separate, explicit consent, and its withdrawal (/rut_dong_y).

Law 91/2025/QH15 on personal data protection (in force 1/1/2026) and Decree 356/2025 treat health,
violence, ethnic origin and private life as sensitive data: keeping it needs her explicit consent,
given apart from the general one, recorded with the text she agreed to (its version) and the time,
and withdrawable. So, just before the member flow stores a question that names such data, it asks
her once more, for that question (handlers.ask_question, state "ask.sensitive"):

- agree: the question is stored, with the kinds found, the consent text version and the time;
- decline: nothing of that text is stored (her draft is dropped and the WAL emptied); she may
  write the question again without it, or stop. A danger disclosure was already handled before
  (hotlines at once, staff alerted, stored urgent so staff can reach her: her safety first, the law
  allows it to protect life and health); declining then empties that urgent question's words and
  she is told truthfully that the alert stays with staff.

What counts: health, ethnic origin and private life from locales/sensitive_words.txt (staff may
extend it; matched like locales/concepts.tsv, after teencode, with or without diacritics), said
ABOUT HER: in a sentence where she speaks of herself or someone of hers ("em đang mang thai",
"con em bị tự kỷ", "tôi là người Mông"). A question on the topic in general ("khám thai định kỳ
có được bảo hiểm chi trả không", "hỗ trợ phụ nữ người Mông học nghề", "cho em hỏi ...") holds
no data about her and is not asked. Violence or abuse counts whenever the danger detector
(`Services.danger`) fires (it already tells her own danger from a policy question).

`/rut_dong_y` withdraws it: her questions holding sensitive data (consented, danger ones, and
older ones the words find) are erased exactly as /xoa_du_lieu erases (text, every copy, the WAL),
and the danger alerts about her too; her other questions and her account stay.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from storage import queries as q

from .engine import IDLE, Context, Services
from .menus import BACK, menu
from .normalise import CONCEPT_MARK, DEFAULT_TEENCODE, Normalizer, load_concepts, load_teencode
from .privacy import mask_pii
from .safety import MAYBE
from .text import fold
from .types import Option

__all__ = ["DEFAULT_WORDS", "SensitiveConsent", "SensitiveWords", "kinds_in_text"]

DEFAULT_WORDS = Path(__file__).resolve().parent.parent / "locales" / "sensitive_words.txt"
VIOLENCE = "bao_luc"
# The order kinds are named to her in.
_ORDER = ("suc_khoe", VIOLENCE, "dan_toc", "doi_tu")

AGREE = "ask:sens:yes"
DECLINE = "ask:sens:no"
CONFIRM_WITHDRAW = "sens.confirm_withdraw"
_AGREE_WORDS = ("dong y", "ok", "oke", "okie", "co", "dc", "duoc", "yes", "u", "uh", "vang",
                "dong y a", "co a", "ok a", "duoc a", "vang a", "co dong y")
_DECLINE_WORDS = ("khong", "ko", "k", "kh", "khg", "hok", "hong", "khong a", "no",
                  "khong dong y a", "ko dong y", "k dong y")
_SENTENCE = re.compile(r"[.!?;\n]+")
_WORDS = re.compile(r"[^\W_]+")
# Where she lives is not her: "bản em", "xã tôi" (bare "ban em" stays: it is also "bạn em").
_PLACE_OF_HERS = re.compile(r"\b(?:xã|xa|huyện|huyen|thôn|thon|xóm|xom|làng|lang|tỉnh|tinh|bản|"
                            r"phường|phuong|vùng|vung|quê|que|chỗ|nơi|trường|truong|lớp|"
                            r"chi hội|chi hoi|địa phương|dia phuong)\s+(?:em|e|tôi|toi|mình|minh|"
                            r"mk|tui|chúng em|chúng tôi)\b")
# Words with "em"/"tôi" that are not her: asking ("cho em hỏi", "em xin hỏi", "em có câu hỏi"),
# children or women in general ("trẻ em", "các em", "chị em phụ nữ", "chị em trong bản").
_NOT_HER = re.compile(
    r" (?:cho|xin|giup|ho|voi|cho phep|tu van cho) (?:em|toi|minh|tui|chung em|chung toi)"
    r" (?:duoc |xin |hoi |)(?:hoi|biet|y kien)(?= )"
    r"| (?:em|toi|minh|tui|chung em|chung toi)(?: xin| muon| can| co cau| co mot cau| co y kien"
    r"| co| cung| chi| xin phep)* (?:hoi|de nghi|kien nghi|y kien|gop y|xin y kien)(?= )"
    r"| tre em(?= )| (?:cac|nhung|nhieu|may|moi) em(?= )"
    r"| (?:cac|nhung|nhieu|cho|giup|ho tro) chi em(?= )"
    r"| chi em (?=phu nu |trong |o |ben |dan toc |thuoc |hoi vien |nong dan |ban |xa |thon "
    r"|vung |chung ta |minh |ngheo |lao dong |khuyet tat |mang thai |co thai )")
# She speaks of herself: a first-person word, or a sentence with no subject at all that starts
# with what happens to her ("Bị tiểu đường 5 năm rồi", "đang mang bầu tháng thứ 7").
_HER = re.compile(r" (?:em|toi|minh|tui|tao)(?= )|^ (?:bi|dang|moi|vua|van|da bi|da mang|hay bi)"
                  r"(?= )")
# Kept in her conversation only while she decides; a decline drops them all.
_DRAFT_KEYS = ("text", "draft", "pending_text", "append_return", "voice_url", "similar",
               "declined", "sensitive")


@dataclass(frozen=True)
class SensitiveWords:
    """Compiled locales/sensitive_words.txt: the kinds of sensitive data a text names."""

    normalizer: Normalizer

    @classmethod
    def from_file(cls, path: Path = DEFAULT_WORDS,
                  teencode: Path = DEFAULT_TEENCODE) -> SensitiveWords:
        """A bad line raises ValueError naming file and line, at start-up."""
        return cls(Normalizer(load_teencode(teencode), frozenset(), load_concepts(path)))

    def kinds(self, text: str) -> frozenset[str]:
        """The kinds named in the sentences where she speaks of herself or her own."""
        found: set[str] = set()
        for sentence in _SENTENCE.split(text or ""):
            if sentence.strip() and self.about_her(sentence):
                # The normaliser appends each kind found as a concept word ("#suc_khoe"); a
                # word of the text itself never starts with the mark (punctuation splits words).
                found.update(word[1:] for word in self.normalizer(sentence).split()
                             if word.startswith(CONCEPT_MARK))
        return frozenset(found)

    def about_her(self, sentence: str) -> bool:
        """Does she speak of herself or someone of hers here, not only ask a question?"""
        lowered = _PLACE_OF_HERS.sub(" ", unicodedata.normalize("NFC", sentence).lower())
        teen = self.normalizer.teencode
        words = fold(" ".join(teen.get(w, w) for w in _WORDS.findall(lowered)))
        return bool(_HER.search(_NOT_HER.sub(" ", f" {words} ")))


def kinds_in_text(services: Services, text: str, danger: bool = False,
                  unsure_counts: bool = True) -> tuple[str, ...]:
    """The kinds of sensitive data in `text`, in the order they are named to her. `danger`:
    the conversation already raised a danger alert (violence), whatever this text says.
    `unsure_counts` false: she was asked whether she is in danger and said no, so a screen
    that was only unsure ("maybe") does not make her question a violence one."""
    found = set(services.sensitive(text)) if services.sensitive and text else set()
    read = services.danger(text) if services.danger is not None and text else None
    if danger or (read is not None and (unsure_counts or getattr(read, "level", "") != MAYBE)):
        found.add(VIOLENCE)
    return tuple(sorted(found, key=lambda k: (_ORDER.index(k) if k in _ORDER else len(_ORDER),
                                              k)))


# -- the consent step of the member flow (handlers.ask_question) -----------------------------


def needs_consent(ctx: Context) -> bool:
    """Before her question is stored: does it name sensitive data? Remembers which kinds."""
    ctx.data.pop("sensitive_agreed", None)
    kinds = kinds_in_text(ctx.services, ctx.data.get("text", "") if not ctx.data.get(
        "voice_url") else "", danger=bool(ctx.data.get("danger")),
        unsure_counts=not ctx.data.get("said_not_danger"))
    ctx.data["sensitive"] = list(kinds)
    return bool(kinds)


async def ask_consent(ctx: Context) -> None:
    kinds = ctx.data.get("sensitive") or []
    ctx.say(ctx.t("sensitive.consent", kinds=_named(ctx, kinds)), menu(
        [], back_label=ctx.t("button.back"), extra=(
            Option(ctx.t("sensitive.button.agree"), AGREE, 1, _AGREE_WORDS),
            Option(ctx.t("sensitive.button.decline"), DECLINE, 2, _DECLINE_WORDS),
        )))


async def on_consent(ctx: Context, rewrite_state: str) -> bool:
    """True when she agreed: the caller stores the question (and `record_consent` notes it).
    Declined: her words are dropped and she is offered to write again (`rewrite_state`)."""
    if ctx.action == AGREE:
        ctx.data["sensitive_agreed"] = True
        return True
    if ctx.action == DECLINE:
        await _decline(ctx, rewrite_state)
    else:
        ctx.say(ctx.t("error.choose_from_list"))
        await ctx.show(ctx.state)
    return False


async def record_consent(ctx: Context, question_id: int) -> None:
    """Called where the question is stored: the kinds, consent text version and time."""
    kinds = ctx.data.get("sensitive")
    if kinds and ctx.data.get("sensitive_agreed"):
        await q.record_sensitive_consent(ctx.conn, question_id, kinds,
                                         ctx.settings.sensitive_consent_version, now=ctx.now)


async def _decline(ctx: Context, rewrite_state: str) -> None:
    kinds = ctx.data.get("sensitive") or []
    urgent = ctx.data.pop("urgent_question", None)
    receipt = ctx.data.pop("urgent_receipt", "")
    if urgent:  # stored at her disclosure: its words go, the row stays as staff's case
        await q.erase_question_text(ctx.conn, int(urgent))
        ctx.data.pop("danger", None)
    for key in (*_DRAFT_KEYS, "sensitive_agreed"):
        ctx.data.pop(key, None)
    ctx.scrub_wal = True  # her draft's earlier copies in the WAL go too
    alerted = bool(urgent) and await q.alerts_about(ctx.conn, ctx.user.id,
                                                    ctx.t("data.scrubbed")) > 0
    key = "sensitive.declined_alerted" if alerted else "sensitive.declined"
    ctx.say(ctx.t(key, kinds=_named(ctx, kinds), receipt=receipt))
    if "anonymous" in ctx.data:
        ctx.data["editing"] = True  # her new wording goes straight back to the confirmation
    await ctx.show(rewrite_state)


def _named(ctx: Context, kinds: list[str] | tuple[str, ...]) -> str:
    messages = ctx.services.locale.messages
    names = [ctx.t(f"sensitive.kind.{k}") if f"sensitive.kind.{k}" in messages
             else ctx.t("sensitive.kind.other") for k in kinds]
    return ", ".join(dict.fromkeys(names))


# -- withdrawal: /rut_dong_y --------------------------------------------------------------------


class SensitiveConsent:
    """The member command that withdraws her sensitive-data consent, with one confirmation."""

    def __init__(self) -> None:
        self.states = {CONFIRM_WITHDRAW: self.on_confirm_withdraw}
        self.prompts = {CONFIRM_WITHDRAW: self.ask_confirm_withdraw}

    async def command(self, ctx: Context, name: str, args: str) -> bool:
        if name not in ("rut_dong_y", "rutdongy"):
            return False
        if not await _withdrawable(ctx) and not await _alerts(ctx):
            ctx.say(ctx.t("sensitive.nothing_to_withdraw"))
            if ctx.state != IDLE:
                await ctx.show(ctx.state)
            return True
        if ctx.state != CONFIRM_WITHDRAW:
            ctx.data["withdraw_resume"] = ctx.state  # "Không" takes her back where she was
        await ctx.show(CONFIRM_WITHDRAW)
        return True

    async def ask_confirm_withdraw(self, ctx: Context) -> None:
        questions = await _withdrawable(ctx)
        ctx.say(ctx.t("sensitive.confirm_withdraw", count=len(questions),
                      receipts=_receipts(questions), alerts=_alerts_note(ctx, await _alerts(ctx))),
                menu([(ctx.t("sensitive.button.withdraw"), "sens:withdraw"),
                      (ctx.t("sensitive.button.keep"), "sens:keep")]))

    async def on_confirm_withdraw(self, ctx: Context) -> None:
        if ctx.action == "sens:withdraw":
            questions = await _withdrawable(ctx)
            done = await q.withdraw_sensitive_consent(
                ctx.conn, ctx.user.id, [x.id for x in questions], now=ctx.now, masked=mask_pii,
                scrubbed=ctx.t("data.scrubbed"))
            ctx.erased = True  # her conversation may hold those words: dropped, WAL emptied
            ctx.reset(IDLE)
            ctx.say(ctx.t("sensitive.withdrawn", count=len(questions),
                          receipts=_receipts(questions), alerts=_alerts_note(ctx, done.alerts)))
        elif ctx.action in ("sens:keep", BACK):
            resume = ctx.data.pop("withdraw_resume", IDLE)
            ctx.say(ctx.t("sensitive.kept"))
            if resume not in (IDLE, CONFIRM_WITHDRAW):
                await ctx.show(resume)
            else:
                ctx.reset(IDLE)
        else:
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(CONFIRM_WITHDRAW)


async def _withdrawable(ctx: Context) -> list[q.OwnQuestion]:
    """Her questions that hold sensitive data: those she consented for, danger disclosures,
    and older ones (stored before this consent existed) in which the words find some."""
    return [x for x in await q.own_questions_with_text(ctx.conn, ctx.user.id)
            if x.sensitive or x.danger or kinds_in_text(ctx.services, x.text)]


async def _alerts(ctx: Context) -> int:
    return await q.alerts_about(ctx.conn, ctx.user.id, ctx.t("data.scrubbed"))


def _receipts(questions: list[q.OwnQuestion]) -> str:
    return ", ".join(x.receipt for x in questions) or "—"


def _alerts_note(ctx: Context, alerts: int) -> str:
    return ctx.t("sensitive.alerts_note", count=alerts) if alerts else ""
