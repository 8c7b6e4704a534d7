"""Configuration: read once at start-up, validated, immutable.

A bad value raises `ConfigError` naming the key and the fix. Tokens come only from the
environment and print as `Secret('****')`.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.domain import Dialogue, Hotline, Settings

__all__ = ["Config", "ConfigError", "Secret", "load_config"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.toml"


class ConfigError(Exception):
    """A config value is missing or wrong; the message names the key and the fix."""


@dataclass(frozen=True)
class Secret:
    value: str

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True)
class Config:
    """Runtime configuration: transports, storage and schedule, plus the flows' `Settings`."""

    path: Path
    database: Path
    locale: Path
    telegram_base_url: str
    telegram_token: Secret
    zalo_base_url: str
    zalo_token: Secret
    zalo_mode: str
    zalo_webhook_secret: Secret
    zalo_webhook_host: str
    zalo_webhook_port: int
    zalo_webhook_path: str
    digest_time: dt.time
    similar_threshold: float
    join_threshold: float
    review_threshold: float
    communes_add: tuple[str, ...]
    communes_rename: Mapping[str, str]
    settings: Settings
    # `run` refuses to start when members could write but no staff chat would get a danger
    # alert, unless this is set on purpose ([safety] allow_no_staff_alerts = true).
    allow_no_staff_alerts: bool = False

    def secrets(self) -> tuple[str, ...]:
        """Every secret value set, for the log filter to redact wherever it appears."""
        return tuple(s.value for s in (self.telegram_token, self.zalo_token,
                                       self.zalo_webhook_secret) if s)


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the TOML config. Relative paths in it are relative to the file."""
    import os

    env = os.environ if environ is None else environ
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"config file {path} not found: pass --config PATH to an existing file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return _build(_Reader(raw, path), path, env)


class _Reader:
    """Typed access to the raw TOML that names the key in every error."""

    def __init__(self, raw: Mapping[str, Any], path: Path) -> None:
        self.raw = raw
        self.path = path

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, fix: str = ""):
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is ...:
                    raise ConfigError(f"{self.path}: `{key}` is missing. {fix}".strip())
                return default
            node = node[part]
        return self.check(key, node, kind, fix)

    def check(self, key: str, value: Any, kind: type | tuple[type, ...], fix: str = "") -> Any:
        if isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind):
            ok = False
        else:
            ok = isinstance(value, kind)
        if not ok:
            names = " or ".join(k.__name__ for k in _as_tuple(kind))
            raise ConfigError(
                f"{self.path}: `{key}` must be {names}, got {value!r}. {fix}".strip()
            )
        return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _relative(base: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else (base.parent / p)


def _build(r: _Reader, path: Path, env: Mapping[str, str]) -> Config:
    tz_name = r.get("bot.timezone", str, "Asia/Ho_Chi_Minh")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{path}: `bot.timezone` = {tz_name!r} is not a known time zone; "
            'use e.g. "Asia/Ho_Chi_Minh"'
        ) from exc
    minimum = _positive(r, "bot.question_min_chars", 15)
    maximum = _positive(r, "bot.question_max_chars", 2000)
    if minimum >= maximum:
        raise ConfigError(
            f"{path}: `bot.question_min_chars` ({minimum}) must be below "
            f"`bot.question_max_chars` ({maximum})"
        )
    # Defaults: bot.matching.MatchSettings (measured by bench/cluster_quality.py).
    similar = _score(r, "matching.similar_threshold", 15)
    join = _score(r, "matching.join_threshold", 45)
    review = _score(r, "matching.review_threshold", 30)
    if join < similar:
        raise ConfigError(
            f"{path}: `matching.join_threshold` ({join}) must be ≥ "
            f"`matching.similar_threshold` ({similar})"
        )
    if join < review:
        raise ConfigError(
            f"{path}: `matching.join_threshold` ({join}) must be ≥ "
            f"`matching.review_threshold` ({review})"
        )
    dialogues = _dialogues(r, path)
    mode = r.get("zalo.mode", str, "polling")
    if mode not in ("polling", "webhook"):
        raise ConfigError(f'{path}: `zalo.mode` must be "polling" or "webhook", got {mode!r}')
    staff = {ch: _staff(r, ch) for ch in ("telegram", "zalo", "terminal")}
    settings = Settings(
        union_name=r.get("bot.union_name", str, "Hội LHPN tỉnh"),
        timezone=tz,
        consent_version=r.get("bot.consent_version", str, "1"),
        sensitive_consent_version=r.get("bot.sensitive_consent_version", str, "1"),
        question_min_chars=minimum,
        question_max_chars=maximum,
        flood_max_messages=_positive(r, "bot.flood_max_messages", 20),
        flood_window_seconds=_positive(r, "bot.flood_window_seconds", 60),
        retention_days=_positive(r, "bot.retention_days", 365),
        hotlines=_hotlines(r),
        dialogues=dialogues,
        staff_ids={ch: ids for ch, (ids, _) in staff.items()},
        staff_chats={ch: chat for ch, (_, chat) in staff.items() if chat},
        leaders=_leaders(r),
        commune_contacts=_str_map(r, "communes.contacts"),
        invite_valid_days=_bounded(r, "invites.valid_days", 7, 90),
        invite_max_failures=_bounded(r, "invites.max_failures", 5, 100),
        invite_lock_minutes=_bounded(r, "invites.lock_minutes", 60, 7 * 24 * 60),
        leaders_see_member_texts=r.get("leaders_view.member_texts", bool, False),
    )
    return Config(
        path=path,
        database=_relative(path, r.get("bot.database", str, "data/doithoai.db")),
        locale=_relative(path, r.get("bot.locale", str, "locales/vi.toml")),
        telegram_base_url=_url(r, "telegram.base_url", "https://api.telegram.org/bot"),
        telegram_token=Secret(env.get("TELEGRAM_BOT_TOKEN", "").strip()),
        zalo_base_url=_url(r, "zalo.base_url", "https://bot-api.zaloplatforms.com/bot"),
        zalo_token=Secret(env.get("ZALO_BOT_TOKEN", "").strip()),
        zalo_mode=mode,
        zalo_webhook_secret=Secret(env.get("ZALO_WEBHOOK_SECRET", "").strip()),
        zalo_webhook_host=r.get("zalo.webhook_host", str, "127.0.0.1"),
        zalo_webhook_port=_positive(r, "zalo.webhook_port", 8088),
        zalo_webhook_path=r.get("zalo.webhook_path", str, "/zalo/webhook"),
        digest_time=_time(r, "digest.time", "07:30"),
        similar_threshold=similar,
        join_threshold=join,
        review_threshold=review,
        communes_add=tuple(_str_list(r, "communes.add")),
        communes_rename=_str_map(r, "communes.rename"),
        settings=settings,
        allow_no_staff_alerts=_safety(r),
    )


_SAFETY_KEYS = ("allow_no_staff_alerts",)


def _safety(r: _Reader) -> bool:
    """[safety]: a key typed wrong must not silently leave a woman's alert going nowhere."""
    table = r.get("safety", dict, {})
    for key in table:
        if key not in _SAFETY_KEYS:
            known = ", ".join(f"`safety.{k}`" for k in _SAFETY_KEYS)
            raise ConfigError(f"{r.path}: unknown key `safety.{key}`; [safety] knows only "
                              f"{known}")
    return r.get("safety.allow_no_staff_alerts", bool, False,
                 fix="Write true or false (no quotes).")


def _positive(r: _Reader, key: str, default: int) -> int:
    value = r.get(key, int, default)
    if value <= 0:
        raise ConfigError(f"{r.path}: `{key}` must be a whole number above 0, got {value}")
    return value


def _bounded(r: _Reader, key: str, default: int, maximum: int) -> int:
    value = _positive(r, key, default)
    if value > maximum:
        raise ConfigError(f"{r.path}: `{key}` must be at most {maximum}, got {value}")
    return value


def _score(r: _Reader, key: str, default: float) -> float:
    value = float(r.get(key, (int, float), default))
    if not 0 <= value <= 100:
        raise ConfigError(f"{r.path}: `{key}` is a score from 0 to 100, got {value}")
    return value


def _url(r: _Reader, key: str, default: str) -> str:
    value = r.get(key, str, default)
    if not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(f'{r.path}: `{key}` must be an http(s) URL like "{default}"')
    return value.rstrip("/")


def _time(r: _Reader, key: str, default: str) -> dt.time:
    value = r.get(key, (str, dt.time), default)
    if isinstance(value, dt.time):
        return value
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ConfigError(f'{r.path}: `{key}` must be a local time like "07:30", got {value!r}')
    return dt.time(int(match[1]), int(match[2]))


def _str_list(r: _Reader, key: str) -> list[str]:
    values = r.get(key, list, [])
    for i, v in enumerate(values):
        r.check(f"{key}[{i}]", v, str)
    return values


def _str_map(r: _Reader, key: str) -> dict[str, str]:
    values = r.get(key, dict, {})
    for k, v in values.items():
        r.check(f"{key}.{k}", v, str)
    return dict(values)


def _staff(r: _Reader, channel: str) -> tuple[frozenset[str], str]:
    ids = r.get(f"{channel}.staff_ids", list, [])
    for i, v in enumerate(ids):
        r.check(f"{channel}.staff_ids[{i}]", v, (int, str), "Use user ids, e.g. [123456789].")
    chat = r.get(f"{channel}.staff_chat_id", (int, str), "")
    return frozenset(str(v) for v in ids), "" if chat in (0, "") else str(chat)


def _leaders(r: _Reader) -> dict[str, str]:
    """[[leaders]] channel = "telegram", user_id = "123", commune = "Xã Nậm Tăm"."""
    out = {}
    for i, item in enumerate(r.get("leaders", list, [])):
        r.check(f"leaders[{i}]", item, dict,
                'Write [[leaders]] with channel = "telegram", user_id = "…", commune = "…".')
        channel = r.check(f"leaders[{i}].channel", item.get("channel"), str)
        if channel not in ("telegram", "zalo", "terminal"):
            raise ConfigError(f'{r.path}: `leaders[{i}].channel` must be "telegram", "zalo" '
                              'or "terminal"')
        user_id = r.check(f"leaders[{i}].user_id", item.get("user_id"), (str, int))
        out[f"{channel}:{user_id}"] = r.check(f"leaders[{i}].commune", item.get("commune"), str)
    return out


def _hotlines(r: _Reader) -> tuple[Hotline, ...]:
    items = r.get("hotlines", list, [])
    out = []
    for i, item in enumerate(items):
        r.check(f"hotlines[{i}]", item, dict, 'Write [[hotlines]] with name = "…", number = "…".')
        out.append(Hotline(
            name=r.check(f"hotlines[{i}].name", item.get("name"), str),
            number=r.check(f"hotlines[{i}].number", item.get("number"), str),
        ))
    return tuple(out)


_DIALOGUE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")
_CODE = re.compile(r"^[A-Z0-9]{2,8}$")


def _dialogues(r: _Reader, path: Path) -> tuple[Dialogue, ...]:
    items = r.get("dialogues", list, fix="Add at least one [[dialogues]] table.")
    if not items:
        raise ConfigError(f"{path}: `dialogues` is empty. Add at least one [[dialogues]] table.")
    seen: set[str] = set()
    codes: set[str] = set()
    out = []
    for i, item in enumerate(items):
        d = _dialogue(r, f"dialogues[{i}]", item)
        if d.id in seen:
            raise ConfigError(f"{path}: `dialogues[{i}].id` {d.id!r} is used twice; ids are unique")
        if d.code in codes:
            raise ConfigError(f"{path}: `dialogues[{i}].code` {d.code!r} is used twice")
        seen.add(d.id)
        codes.add(d.code)
        out.append(d)
    return tuple(out)


def _dialogue(r: _Reader, key: str, item: Any) -> Dialogue:
    r.check(key, item, dict)

    def field_(name: str, kind: type | tuple[type, ...], fix: str = "") -> Any:
        if name not in item:
            raise ConfigError(f"{r.path}: `{key}.{name}` is missing. {fix}".strip())
        return r.check(f"{key}.{name}", item[name], kind, fix)

    date_fix = "Write a TOML date like 2026-07-25 (no quotes)."
    ident = field_("id", str)
    if not _DIALOGUE_ID.match(ident):
        raise ConfigError(f"{r.path}: `{key}.id` must be lowercase letters, digits and '-'")
    code = field_("code", str)
    if not _CODE.match(code):
        raise ConfigError(f'{r.path}: `{key}.code` must be 2–8 capital letters/digits, e.g. "LC26"')
    topics = field_("topics", list, "List the topic names in order.")
    if not topics or len(topics) > 20:
        raise ConfigError(f"{r.path}: `{key}.topics` must list 1 to 20 topics")
    for j, t in enumerate(topics):
        r.check(f"{key}.topics[{j}]", t, str)
    departments = item.get("departments", [])
    r.check(f"{key}.departments", departments, list)
    for j, t in enumerate(departments):
        r.check(f"{key}.departments[{j}]", t, str)
    d = Dialogue(
        id=ident,
        code=code,
        title=field_("title", str),
        province=field_("province", str),
        province_code=field_("province_code", int, "The vietnam-provinces code, e.g. 12."),
        theme=field_("theme", str),
        opens=field_("opens", dt.date, date_fix),
        closes=field_("closes", dt.date, date_fix),
        answer_deadline=field_("answer_deadline", dt.date, date_fix),
        summary_deadline=field_("summary_deadline", dt.date, date_fix),
        dialogue_when=item.get("dialogue_when", ""),
        topics=tuple(topics),
        departments=tuple(departments),
    )
    if d.closes < d.opens:
        raise ConfigError(f"{r.path}: `{key}.closes` ({d.closes}) is before `{key}.opens`")
    if d.summary_deadline < d.answer_deadline:
        raise ConfigError(
            f"{r.path}: `{key}.summary_deadline` is before `{key}.answer_deadline`"
        )
    return d
