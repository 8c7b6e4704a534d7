"""Domain objects the flows work with. Built by `bot.config` from the TOML file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

__all__ = ["STATUS_KEYS", "Dialogue", "Hotline", "Settings", "Status"]


@dataclass(frozen=True)
class Hotline:
    name: str
    number: str


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
    departments: tuple[str, ...]

    def is_open(self, today: dt.date) -> bool:
        return self.opens <= today <= self.closes

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
    invite_valid_days: int = 7
    invite_max_failures: int = 5
    invite_lock_minutes: int = 60
    leaders_see_member_texts: bool = False  # masked, named, non-urgent texts in /xa_toi

    def dialogue(self, dialogue_id: str) -> Dialogue | None:
        return next((d for d in self.dialogues if d.id == dialogue_id), None)

    def open_dialogues(self, today: dt.date) -> list[Dialogue]:
        return [d for d in self.dialogues if d.is_open(today)]

    def is_staff(self, channel: str, user_id: str) -> bool:
        return user_id in self.staff_ids.get(channel, frozenset())

    def staff_chat(self, channel: str) -> str:
        return self.staff_chats.get(channel, "")
