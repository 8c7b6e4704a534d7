"""Configuration: read once at start-up, validated, immutable.

A bad value raises `ConfigError` naming the key and the fix. Tokens come only from the
environment and print as `Secret('****')`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.domain import Department, Dialogue, Hotline, Settings
from handlers.text import fold

__all__ = ["DEMO_CONFIG", "Config", "ConfigError", "Secret", "WebSettings", "load_config"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.toml"
DEMO_CONFIG = ROOT / "config.demo.toml"


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
class WebSettings:
    """[web]: the console for staff, departments and safety officers (docs/console.md)."""

    enabled: bool = False  # `run` serves the console too
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # how staff reach it (links in chat digests and alerts)
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    cookie_secure: str = "auto"  # "auto": Secure when the request came over HTTPS
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)  # may set X-Forwarded-For/-Proto
    login_max_failures: int = 5  # per account, within lock_minutes
    address_max_failures: int = 20  # per client address, within lock_minutes
    lock_minutes: int = 15
    max_pdf_mb: int = 10  # the largest PDF a department may attach to its answer


@dataclass(frozen=True)
class Config:
    """Runtime configuration: transports, storage and schedule, plus the flows' `Settings`."""

    path: Path
    database: Path
    locale: Path
    # Each channel's own settings, read by its adapter (bot/channels/registry.py): name → object.
    channels: Mapping[str, Any]
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
    # A demo file (`[bot] demo = true`): `demo` runs only on it, `run` never does.
    demo: bool = False
    # [communes.legacy]: pre-July-2025 name = the commune it merged into (asked, never silent).
    communes_legacy: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # [backup]: a daily copy at `time` (local) into `dir`, the newest `keep` kept (0: none).
    backup_dir: Path = Path("data/backups")
    backup_time: dt.time = dt.time(2, 30)
    backup_keep: int = 14
    web: WebSettings = WebSettings()

    def secrets(self) -> tuple[str, ...]:
        """Every secret value set, for the log filter to redact wherever it appears."""
        return tuple(v for settings in self.channels.values() for v in settings.secrets())

    def channel(self, name: str) -> Any:
        """The settings of one channel ([telegram], [zalo]…), as its adapter reads them."""
        return self.channels[name]

    def with_channel(self, name: str, **changes: Any) -> Config:
        """A copy with some of one channel's settings changed (tests, benches)."""
        import dataclasses

        updated = dataclasses.replace(self.channels[name], **changes)
        return dataclasses.replace(self, channels={**self.channels, name: updated})

    # Kept for code outside bot/channels that asks only whether a token is set.
    @property
    def telegram_token(self) -> Secret:
        return self.channels["telegram"].token

    @property
    def zalo_token(self) -> Secret:
        return self.channels["zalo"].token


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
    reader = _Reader(raw, path)
    config = _build(reader, path, env)
    reader.reject_unknown()
    return config


class _Reader:
    """Typed access to the raw TOML that names the key in every error.

    It records every key the loader asks for, present or not. After the build, whatever is in
    the file but was never asked for is unknown: a typo (`staf_chat_id`) is an error naming
    the closest key the loader knows, instead of silently turning off what it was meant to set.
    A new key needs no list to be kept: reading it through the reader makes it known.
    """

    def __init__(self, raw: Mapping[str, Any], path: Path) -> None:
        self.raw = raw
        self.path = path
        self.asked: set[str] = set()

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, fix: str = ""):
        self.asked.add(key)
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is ...:
                    raise ConfigError(f"{self.path}: `{key}` is missing. {fix}".strip())
                return default
            node = node[part]
        return self.check(key, node, kind, fix)

    def check(self, key: str, value: Any, kind: type | tuple[type, ...], fix: str = "") -> Any:
        self.asked.add(key)
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


    def optional(self, key: str, item: Mapping[str, Any], name: str, default: Any) -> Any:
        """`item[name]` of a table inside a list (a [[dialogues]] entry), recorded as asked."""
        self.asked.add(f"{key}.{name}")
        return item.get(name, default)

    def reject_unknown(self) -> None:
        """Raise ConfigError for the first key or table in the file the loader never read."""
        asked = {_shape(k) for k in self.asked}
        for key, is_table in _paths(self.raw):
            shape = _shape(key)
            if shape in asked or _free_form(key, self.asked) or any(
                    a.startswith((f"{shape}.", f"{shape}[")) for a in asked):
                continue
            parent, _, name = shape.rpartition(".")
            siblings = {_first(a[len(parent) + 1:] if parent else a) for a in asked
                        if not parent or a.startswith(f"{parent}.")}
            close = difflib.get_close_matches(name, sorted(siblings), n=1, cutoff=0.6)
            where = f"{key.rpartition('.')[0]}." if parent else ""
            hint = f" Did you mean `{where}{close[0]}`?" if close else ""
            shown = f"table [{key}]" if is_table else f"key `{key}`"
            if not is_table and name in _SECRET_KEYS:
                raise ConfigError(_secret_in_file(self.path, key))
            raise ConfigError(f"{self.path}: unknown {shown}: nothing reads it, so it would be "
                              f"silently ignored.{hint}")


# Keys someone might put a token or secret under: the error says where secrets go instead.
_SECRET_KEYS = frozenset({"token", "bot_token", "secret", "webhook_secret", "api_key",
                          "access_token", "password"})
_SECRET_ENV = {"telegram": "TELEGRAM_BOT_TOKEN / TELEGRAM_WEBHOOK_SECRET",
               "zalo": "ZALO_BOT_TOKEN / ZALO_WEBHOOK_SECRET"}


def _secret_in_file(path: Path, key: str) -> str:
    table = key.partition(".")[0]
    env = _SECRET_ENV.get(table, "an environment variable (see docs/deploy.md)")
    return (f"{path}: `{key}` looks like a secret, and secrets never go in the config file "
            f"(it is copied, backed up, sent around). Remove the line, set {env} in the "
            "environment instead, and if this file was shared, revoke the token and make a "
            "new one.")


def _shape(key: str) -> str:
    """`dialogues[3].id` → `dialogues[].id`: one entry of a list stands for all."""
    return re.sub(r"\[\d+\]", "[]", key)


def _first(key: str) -> str:
    return re.split(r"[.\[]", key, maxsplit=1)[0]


def _paths(node: Any, prefix: str = "") -> list[tuple[str, bool]]:
    """Every (key, is_table) in the file, parents before children."""
    out = []
    if isinstance(node, Mapping):
        for name, value in node.items():
            key = f"{prefix}.{name}" if prefix else str(name)
            out.append((key, isinstance(value, Mapping)))
            out.extend(_paths(value, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, Mapping):  # a list of tables; plain values are the list's own
                out.extend(_paths(value, f"{prefix}[{i}]"))
    return out


def _free_form(key: str, asked: set[str]) -> bool:
    """Keys inside a table read whole as a map (communes.rename: old name = new name)."""
    return any(key.startswith(a[:-1]) for a in asked if a.endswith(".*"))


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
    join = _score(r, "matching.join_threshold", 40)
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
    departments, dialogues = _resolve_departments(r, _dialogues(r, path))
    from .channels.registry import CHANNELS  # here: the adapters' settings import this module

    channels = {spec.name: spec.read_settings(r, env) for spec in CHANNELS}
    staff = {name: _staff(r, name) for name in channels}
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
        leaders=_leaders(r, tuple(channels)),
        commune_contacts=_str_map(r, "communes.contacts"),
        document_channels=frozenset(spec.name for spec in CHANNELS if spec.sends_documents),
        invite_valid_days=_bounded(r, "invites.valid_days", 7, 90),
        invite_max_failures=_bounded(r, "invites.max_failures", 5, 100),
        invite_lock_minutes=_bounded(r, "invites.lock_minutes", 60, 7 * 24 * 60),
        leaders_see_member_texts=r.get("leaders_view.member_texts", bool, False),
        departments=departments,
        remind_days_before=_bounded(r, "lifecycle.remind_days_before", 3, 30),
        signer_name=r.get("reports.signer_name", str, ""),
        signer_position=r.get("reports.signer_position", str, "CHỦ TỊCH"),
        signer_on_behalf=r.get("reports.signer_on_behalf", str, "TM. BAN THƯỜNG VỤ"),
        report_number=r.get("reports.number", str, ""),
        # A config without [privacy] keeps no texts in chat either: the safe side.
        texts_in_chat=r.get("privacy.texts_in_chat", bool, False,
                            fix="Write true or false (no quotes)."),
        console_url=r.get("web.public_url", str, "").rstrip("/"),
    )
    return Config(
        path=path,
        database=_relative(path, r.get("bot.database", str, "data/doithoai.db")),
        locale=_relative(path, r.get("bot.locale", str, "locales/vi.toml")),
        channels=channels,
        digest_time=_time(r, "digest.time", "07:30"),
        similar_threshold=similar,
        join_threshold=join,
        review_threshold=review,
        communes_add=tuple(_str_list(r, "communes.add")),
        communes_rename=_str_map(r, "communes.rename"),
        settings=settings,
        allow_no_staff_alerts=_safety(r),
        demo=r.get("bot.demo", bool, False, fix="Write true or false (no quotes)."),
        communes_legacy=_str_map(r, "communes.legacy"),
        backup_dir=_relative(path, r.get("backup.dir", str, "data/backups")),
        backup_time=_time(r, "backup.time", "02:30"),
        backup_keep=_backup_keep(r),
        web=_web(r),
    )


def _web(r: _Reader) -> WebSettings:
    d = WebSettings()
    secure = r.get("web.cookie_secure", (str, bool), d.cookie_secure)
    secure = {True: "true", False: "false"}.get(secure, secure)
    if secure not in ("auto", "true", "false"):
        raise ConfigError(f'{r.path}: `web.cookie_secure` must be "auto", true or false')
    public_url = r.get("web.public_url", str, "").rstrip("/")
    if public_url and not re.match(r"^https?://[^\s/]+", public_url):
        raise ConfigError(f'{r.path}: `web.public_url` must be an http(s) URL like '
                          '"https://hoi.example.vn"')
    return WebSettings(
        enabled=r.get("web.enabled", bool, d.enabled, fix="Write true or false (no quotes)."),
        host=r.get("web.host", str, d.host),
        port=_bounded(r, "web.port", d.port, 65535),
        public_url=public_url,
        session_idle_minutes=_bounded(r, "web.session_idle_minutes", d.session_idle_minutes,
                                      24 * 60),
        session_max_hours=_bounded(r, "web.session_max_hours", d.session_max_hours, 7 * 24),
        cookie_secure=secure,
        trusted_proxies=tuple(_str_list(r, "web.trusted_proxies")) if "trusted_proxies" in
        r.get("web", dict, {}) else d.trusted_proxies,
        login_max_failures=_bounded(r, "web.login_max_failures", d.login_max_failures, 100),
        address_max_failures=_bounded(r, "web.address_max_failures", d.address_max_failures,
                                      1000),
        lock_minutes=_bounded(r, "web.lock_minutes", d.lock_minutes, 24 * 60),
        # Telegram bots may send documents up to 50 MB.
        max_pdf_mb=_bounded(r, "web.max_pdf_mb", d.max_pdf_mb, 50),
    )


def _backup_keep(r: _Reader) -> int:
    value = r.get("backup.keep", int, 14, fix="How many daily copies to keep, e.g. 14.")
    if not 0 <= value <= 3650:
        raise ConfigError(f"{r.path}: `backup.keep` must be 0 (no scheduled backups) to 3650, "
                          f"got {value}")
    return value


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
    r.asked.add(f"{key}.*")  # its keys are names, not settings
    values = r.get(key, dict, {})
    for k, v in values.items():
        r.check(f"{key}.{k}", v, str)
    return dict(values)


def _staff(r: _Reader, channel: str) -> tuple[frozenset[str], str]:
    ids = r.get(f"{channel}.staff_ids", list, [])
    for i, v in enumerate(ids):
        r.check(f"{channel}.staff_ids[{i}]", v, (int, str), "Use user ids, e.g. [123456789].")
    chat = r.get(f"{channel}.staff_chat_id", (int, str), "")
    if channel == "telegram":  # Telegram ids are whole numbers (a group's is negative)
        for i, v in enumerate(ids):
            if not re.fullmatch(r"[1-9]\d{0,15}", str(v)):
                # The value is not echoed: a token pasted in the wrong place would be.
                raise ConfigError(f"{r.path}: `telegram.staff_ids[{i}]` is not a "
                                  "Telegram user id (a positive whole number). Each staff "
                                  "member sends /id to the bot to learn hers.")
        if chat not in (0, "") and not re.fullmatch(r"-?[1-9]\d{0,15}", str(chat)):
            raise ConfigError(f"{r.path}: `telegram.staff_chat_id` is not "
                              "a Telegram chat id (a whole number; a group's is negative, e.g. "
                              "-1001234567890). Send /id in the staff group to learn it.")
    return frozenset(str(v) for v in ids), "" if chat in (0, "") else str(chat)


def _leaders(r: _Reader, names: tuple[str, ...]) -> dict[str, str]:
    """[[leaders]] channel = "telegram", user_id = "123", commune = "Xã Nậm Tăm"."""
    out = {}
    for i, item in enumerate(r.get("leaders", list, [])):
        r.check(f"leaders[{i}]", item, dict,
                'Write [[leaders]] with channel = "telegram", user_id = "…", commune = "…".')
        channel = r.check(f"leaders[{i}].channel", item.get("channel"), str)
        if channel not in names:
            quoted = ", ".join(f'"{n}"' for n in names)
            raise ConfigError(f"{r.path}: `leaders[{i}].channel` must be one of {quoted}")
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
    departments = r.optional(key, item, "departments", [])
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
        dialogue_when=r.check(f"{key}.dialogue_when",
                              r.optional(key, item, "dialogue_when", ""), str),
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


_DEPARTMENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")


def _department_slug(name: str) -> str:
    """The id of a department a dialogue names without a [[departments]] entry."""
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:60] or "so"


def _chat_id(r: _Reader, key: str, value: Any) -> str:
    if value is None:
        return ""
    r.check(key, value, (int, str), "Use the chat id, e.g. -1001234567890.")
    return "" if value in (0, "") else str(value)


def _departments(r: _Reader) -> list[Department]:
    """[[departments]] id = "so-y-te", name = "Sở Y tế", optional telegram_chat_id/zalo_chat_id."""
    out: list[Department] = []
    known = {"id", "name", "telegram_chat_id", "zalo_chat_id"}
    for i, item in enumerate(r.get("departments", list, [])):
        key = f"departments[{i}]"
        r.check(key, item, dict, 'Write [[departments]] with id = "so-y-te", name = "Sở Y tế".')
        for extra in sorted(set(item) - known):
            raise ConfigError(f"{r.path}: unknown key `{key}.{extra}`; a department has "
                              "id, name, telegram_chat_id, zalo_chat_id")
        ident = r.check(f"{key}.id", item.get("id"), str, 'e.g. id = "so-y-te"')
        if not _DEPARTMENT_ID.match(ident):
            raise ConfigError(f"{r.path}: `{key}.id` must be lowercase letters, digits and '-'")
        name = r.check(f"{key}.name", item.get("name"), str, 'e.g. name = "Sở Y tế"').strip()
        if not name:
            raise ConfigError(f"{r.path}: `{key}.name` is empty")
        if any(d.id == ident for d in out):
            raise ConfigError(f"{r.path}: `{key}.id` {ident!r} is used twice; ids are unique")
        if any(d.name == name for d in out):
            raise ConfigError(f"{r.path}: `{key}.name` {name!r} is used twice")
        out.append(Department(
            id=ident, name=name,
            telegram_chat_id=_chat_id(r, f"{key}.telegram_chat_id", item.get("telegram_chat_id")),
            zalo_chat_id=_chat_id(r, f"{key}.zalo_chat_id", item.get("zalo_chat_id")),
        ))
    return out


def _resolve_departments(
    r: _Reader, dialogues: tuple[Dialogue, ...]
) -> tuple[tuple[Department, ...], tuple[Dialogue, ...]]:
    """A dialogue's `departments` entry is a [[departments]] id, or a name (a [[departments]]
    name, or a department known only by name: its id is then made from the name)."""
    departments = _departments(r)
    resolved = []
    for i, d in enumerate(dialogues):
        ids, names = [], []
        for j, entry in enumerate(d.departments):
            entry = entry.strip()
            found = next((x for x in departments if entry in (x.id, x.name)), None)
            if found is None:
                slug = _department_slug(entry)
                clash = next((x for x in departments if x.id == slug), None)
                if clash is not None:
                    raise ConfigError(
                        f"{r.path}: `dialogues[{i}].departments[{j}]` {entry!r} is not a "
                        f"department; did you mean {clash.id!r} ({clash.name})?")
                found = Department(id=slug, name=entry)
                departments.append(found)
            if found.id in ids:
                raise ConfigError(f"{r.path}: `dialogues[{i}].departments[{j}]` {entry!r} "
                                  "is listed twice")
            ids.append(found.id)
            names.append(found.name)
        resolved.append(dataclasses.replace(d, departments=tuple(names),
                                            department_ids=tuple(ids)))
    return tuple(departments), tuple(resolved)
