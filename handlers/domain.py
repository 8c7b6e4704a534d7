"""Domain objects the flows work with. Built by `bot.config` from the TOML file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

__all__ = ["STATUS_KEYS", "Department", "Dialogue", "Hotline", "Settings", "Status"]


@dataclass(frozen=True)
class Hotline:
    name: str
    number: str


@dataclass(frozen=True)
class Department:
    """A provincial department (sở, ban, ngành) clusters are forwarded to.

    `id` is stable (stored with every forward); `name` is how reports and messages spell it.
    The chat ids, where config has them, receive the department's reminders."""

    id: str
    name: str
    telegram_chat_id: str = ""
    zalo_chat_id: str = ""

    def contacts(self) -> tuple[tuple[str, str], ...]:
        """(channel, chat id) of every chat of the department config names."""
        return tuple((channel, chat) for channel, chat in (
            ("telegram", self.telegram_chat_id), ("zalo", self.zalo_chat_id)) if chat)


@dataclass(frozen=True)
class Dialogue:
    id: str
    code: str  # receipt prefix, e.g. "LC27"
    title: str
    province: str
    province_code: int
    theme: str
    opens: dt.date
    closes: dt.date
    answer_deadline: dt.date
    summary_deadline: dt.date
    dialogue_when: str
    topics: tuple[str, ...]
    departments: tuple[str, ...]  # names, in the order staff pick them by number
    # Ids of the same departments, same order (Settings.department(id) has the contacts).
    department_ids: tuple[str, ...] = ()

    def is_open(self, today: dt.date) -> bool:
        return self.opens <= today <= self.closes

    def department_id(self, name: str) -> str | None:
        """The id of one of this dialogue's departments, by its name."""
        for ident, known in zip(self.department_ids, self.departments, strict=False):
            if known == name:
                return ident
        return None

    def topic_name(self, number: int) -> str:
        if 1 <= number <= len(self.topics):
            return self.topics[number - 1]
        return "?"


class Status:
    """Cluster status, in the order the seeds' process moves through."""

    NEW = "moi"
    REVIEWED = "da_duyet"
    FORWARDED = "da_chuyen"
    ANSWERED = "da_tra_loi"
    REJECTED = "khong_phu_hop"


STATUS_KEYS = (Status.NEW, Status.REVIEWED, Status.FORWARDED, Status.ANSWERED, Status.REJECTED)


@dataclass(frozen=True)
class Settings:
    """What the flows need to know from config; nothing about transports or secrets."""

    union_name: str
    timezone: ZoneInfo
    consent_version: str
    question_min_chars: int
    question_max_chars: int
    flood_max_messages: int
    flood_window_seconds: int
    retention_days: int
    hotlines: tuple[Hotline, ...]
    dialogues: tuple[Dialogue, ...]
    staff_ids: Mapping[str, frozenset[str]] = field(default_factory=dict)
    staff_chats: Mapping[str, str] = field(default_factory=dict)
    leaders: Mapping[str, str] = field(default_factory=dict)  # "channel:user id" -> commune
    commune_contacts: Mapping[str, str] = field(default_factory=dict)  # commune -> union contact
    # Channels that send a document from the outbox (bot.channels.base.ChannelSpec).
    document_channels: frozenset[str] = frozenset()
    invite_valid_days: int = 7
    invite_max_failures: int = 5
    invite_lock_minutes: int = 60
    leaders_see_member_texts: bool = False  # masked, named, non-urgent texts in /xa_toi
    sensitive_consent_version: str = "1"  # of the [sensitive] consent text in the locale
    # Every department of every dialogue ([[departments]] plus names only a dialogue lists).
    departments: tuple[Department, ...] = ()
    remind_days_before: int = 3  # [lifecycle]: the first reminder, days before a deadline
    signer_name: str = ""  # [reports]: who signs the Word summary
    signer_position: str = "CHỦ TỊCH"  # her position line under "TM. BAN THƯỜNG VỤ"
    signer_on_behalf: str = "TM. BAN THƯỜNG VỤ"
    report_number: str = ""  # "Số: …/BC-…" left blank for the clerk when empty
    # [privacy] texts_in_chat: false = chat digests and danger alerts carry counts, case
    # numbers and console links (console_url, [web] public_url) instead of women's texts.
    texts_in_chat: bool = True
    console_url: str = ""

    def dialogue(self, dialogue_id: str) -> Dialogue | None:
        return next((d for d in self.dialogues if d.id == dialogue_id), None)

    def department(self, department_id: str) -> Department | None:
        return next((d for d in self.departments if d.id == department_id), None)

    def departments_of(self, dialogue: Dialogue) -> list[Department]:
        """The dialogue's departments, in its order."""
        found = (self.department(i) for i in dialogue.department_ids)
        return [d for d in found if d is not None]

    def open_dialogues(self, today: dt.date) -> list[Dialogue]:
        return [d for d in self.dialogues if d.is_open(today)]

    def current_dialogue(self, today: dt.date, chosen: str | None = None) -> Dialogue:
        """The dialogue staff (or a report) work on: the one chosen, else the first open one,
        else the one that opened last."""
        found = self.dialogue(chosen or "")
        if found:
            return found
        open_now = self.open_dialogues(today)
        return open_now[0] if open_now else max(self.dialogues, key=lambda d: d.opens)

    def is_staff(self, channel: str, user_id: str) -> bool:
        return user_id in self.staff_ids.get(channel, frozenset())

    def staff_chat(self, channel: str) -> str:
        return self.staff_chats.get(channel, "")
