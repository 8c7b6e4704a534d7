"""Helpers for tests/bot/test_crash_safety.py: the bot as a real process, scripted members, and
what the database says after a SIGKILL.

A member behaves like a woman on Telegram: she sends one message, waits for the bot's answer,
then sends the next. The driver knows more than she does (the database and the fake's offset),
and uses that only to decide what a real user would end up doing after a crash and to check
the bot's invariants.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from tests.fakes.fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "telegram"
RECEIPT = re.compile(r"\b[A-Z][A-Z0-9]*-\d{3,}\b")


class Step(IntEnum):
    """The screens of the member flow, in the order she meets them."""

    START = 0  # nothing shown yet
    CONSENT = 1
    COMMUNE = 2
    TOPIC = 3
    QUESTION = 4
    SIMILAR = 5  # only when a similar question is already stored
    ANONYMITY = 6
    CONFIRM = 7
    STORED = 8


# What the bot may show after she answers a step: a crash must never change this.
NEXT: dict[Step, frozenset[Step]] = {
    Step.START: frozenset({Step.CONSENT}),
    Step.CONSENT: frozenset({Step.COMMUNE}),
    Step.COMMUNE: frozenset({Step.TOPIC}),
    Step.TOPIC: frozenset({Step.QUESTION}),
    Step.QUESTION: frozenset({Step.SIMILAR, Step.ANONYMITY}),
    Step.SIMILAR: frozenset({Step.ANONYMITY}),
    Step.ANONYMITY: frozenset({Step.CONFIRM}),
    Step.CONFIRM: frozenset({Step.STORED}),
}

_STATE_STEPS = {
    "ask.consent": Step.CONSENT,
    "ask.commune": Step.COMMUNE,
    "ask.topic": Step.TOPIC,
    "ask.question": Step.QUESTION,
    "ask.similar": Step.SIMILAR,
    "ask.anonymity": Step.ANONYMITY,
    "ask.confirm": Step.CONFIRM,
}

_TO_GO = {Step.START: 7, Step.CONSENT: 6, Step.COMMUNE: 5, Step.TOPIC: 4, Step.QUESTION: 3,
          Step.SIMILAR: 2, Step.ANONYMITY: 2, Step.CONFIRM: 1, Step.STORED: 0}

# Checked in this order: later screens quote earlier answers (the confirmation repeats her
# commune, topic and text), so the most specific screen must win.
_STEP_KEYS: tuple[tuple[Step, str], ...] = (
    (Step.STORED, "stored"),
    (Step.CONFIRM, "confirm"),
    (Step.SIMILAR, "similar_intro"),
    (Step.ANONYMITY, "anonymity"),
    (Step.QUESTION, "question"),
    (Step.TOPIC, "topic"),
    (Step.COMMUNE, "commune"),
    (Step.CONSENT, "consent"),
)


class Screens:
    """Recognises each screen by the longest fixed piece of its text in the locale file, so
    staff rewording a prompt does not break the test."""

    def __init__(self, locale_path: Path = ROOT / "locales" / "vi.toml") -> None:
        with locale_path.open("rb") as fh:
            texts = tomllib.load(fh)
        self.markers = [(step, _fixed_piece(texts["ask"][key])) for step, key in _STEP_KEYS]
        self.mine_marker = _fixed_piece(texts["mine"]["header"])

    def step_of(self, text: str) -> Step | None:
        for step, marker in self.markers:
            if marker in text:
                return step
        return None


def _fixed_piece(template: str) -> str:
    pieces = re.split(r"\{[^{}]*\}", template)
    return max((p.strip() for p in pieces), key=len)


# --------------------------------------------------------------------------- the bot process


class BotProcess:
    """`python -m bot run` against the fake; every start gets its own log file."""

    def __init__(self, fake: FakeBotAPI, config: Path, database: Path, logs: Path) -> None:
        self.fake = fake
        self.config = config
        self.database = database
        self.logs = logs
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._calls_mark = 0

    def spawn(self) -> None:
        assert self.proc is None, "previous bot process still tracked"
        self.starts += 1
        self._calls_mark = len(self.fake.calls)
        env = os.environ | {"TELEGRAM_BOT_TOKEN": self.fake.token, "PYTHONPATH": str(ROOT)}
        log = self.logs / f"bot-{self.starts:02d}.log"
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config),
                 "--db", str(self.database)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Ready once it long-polls: from then on pending updates reach it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not any(m == "getUpdates" for m, _ in self.fake.calls[self._calls_mark:]):
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.log_tail()}")
            if "\nTraceback (most recent call last)" in "\n" + self.log_tail():
                # An uncaught error at start-up; the process may linger instead of exiting.
                raise AssertionError(f"bot failed to start:\n{self.log_tail()}")
            if loop.time() > deadline:
                raise AssertionError(f"bot not polling after {timeout}s:\n{self.log_tail()}")
            await asyncio.sleep(0.01)

    async def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no last getUpdates to confirm the offset."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait)

    async def terminate(self, timeout: float = 15.0) -> int:
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(proc.wait, timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            await asyncio.to_thread(proc.wait)
            raise AssertionError(
                f"bot ignored SIGTERM for {timeout}s:\n{self.log_tail()}") from exc

    def kill_now(self) -> None:
        """Last resort in a finally block: never leave a bot polling after the test."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        log = self.logs / f"bot-{self.starts:02d}.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_entries(self) -> list[dict[str, Any]]:
        """Every JSON log line of every start; other lines (a traceback) become ERROR entries."""
        out: list[dict[str, Any]] = []
        for log in sorted(self.logs.glob("bot-*.log")):
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"level": "ERROR", "message": line, "file": log.name})
        return out


# ------------------------------------------------------------------------------- the database


@dataclass(frozen=True)
class StoredQuestion:
    receipt: str
    text: str
    commune: str
    topic: int
    anonymous: bool
    kind: str


@dataclass
class Snapshot:
    """What survived on disk; read only while no bot process is running."""

    processed: set[int]
    # chat id → the screen its persisted state stands for, or the raw state if none does
    steps: dict[int, Step | str]
    questions: dict[int, list[StoredQuestion]]


def describe(step: Step | str) -> str:
    return step.name if isinstance(step, Step) else f"state {step!r}"


def read_snapshot(database: Path) -> Snapshot:
    conn = sqlite3.connect(database)
    try:
        processed = {
            int(key) for (key,) in conn.execute(
                "SELECT update_key FROM processed_updates WHERE channel = ?", (CHANNEL,))
        }
        questions: dict[int, list[StoredQuestion]] = {}
        for chat, *row in conn.execute(
            "SELECT u.chat_id, q.receipt, q.text, q.commune, q.topic, q.anonymous, q.kind "
            "FROM questions q JOIN users u ON u.id = q.user_id WHERE u.channel = ? "
            "ORDER BY q.id", (CHANNEL,),
        ):
            receipt, text, commune, topic, anonymous, kind = row
            questions.setdefault(int(chat), []).append(
                StoredQuestion(receipt, text, commune, int(topic), bool(anonymous), kind))
        steps: dict[int, Step | str] = {}
        for chat, state in conn.execute(
            "SELECT chat_id, state FROM conversations WHERE channel = ?", (CHANNEL,)
        ):
            idle_step = Step.STORED if questions.get(int(chat)) else Step.START
            steps[int(chat)] = idle_step if state == "idle" else _STATE_STEPS.get(state, state)
        return Snapshot(processed, steps, questions)
    finally:
        conn.close()


# -------------------------------------------------------------------------------- the members


@dataclass
class Pending:
    update_id: int
    answers: Step  # the screen her message answers
    payload: str

    def __str__(self) -> str:
        return f"update {self.update_id} ({self.payload[:40]!r} answering {self.answers.name})"


@dataclass
class Member:
    chat_id: int
    name: str
    topic: int
    text: str
    anonymous: bool
    joins_at: int  # tick she first writes
    seen: Step = Step.START  # the last screen she saw (or, after a lost reply, would have)
    pending: Pending | None = None
    receipt: str | None = None  # as shown to her
    cursor: int = 0  # how many of the bot's records to her chat were already read
    resume_due: bool = False  # mid-flow at a crash: her next answer must continue the flow
    broken: str = ""  # first invariant she saw violated; she stops talking
    update_ids: list[int] = field(default_factory=list)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)  # as pushed, by update_id

    @property
    def done(self) -> bool:
        return self.seen == Step.STORED

    @property
    def mid_flow(self) -> bool:
        return Step.START < self.seen < Step.STORED

    def can_send(self, tick: int) -> bool:
        return tick >= self.joins_at and not self.done and self.pending is None and not self.broken

    def remaining(self) -> int:
        """Messages she still has to send (the similar-question screen is rare: not counted)."""
        return 0 if self.broken else _TO_GO[self.seen]

    def next_message(self) -> tuple[str, str]:
        """("text" | "callback", payload) for the screen she is at."""
        step = self.seen
        if step == Step.SIMILAR:
            # Her question is hers, not the similar one: press "Câu của tôi khác".
            return "callback", "ask:sup:none"
        payload = {
            Step.START: "/start",
            Step.CONSENT: "1",
            Step.COMMUNE: "nam tam",
            Step.TOPIC: str(self.topic),
            Step.QUESTION: self.text,
            Step.ANONYMITY: "2" if self.anonymous else "1",
            Step.CONFIRM: "1",
        }[step]
        return "text", payload


def push_next(fake: FakeBotAPI, member: Member) -> int:
    kind, payload = member.next_message()
    if kind == "callback":
        update = fake.push_callback(member.chat_id, payload)
    else:
        update = fake.push_message(member.chat_id, payload, first_name=member.name)
    update_id = int(update["update_id"])
    member.pending = Pending(update_id, member.seen, payload)
    member.update_ids.append(update_id)
    member.updates[update_id] = update
    return update_id


def bot_messages(fake: FakeBotAPI, chat_id: int) -> list[dict[str, Any]]:
    # Edits only acknowledge a pressed button; every answer is a new message.
    return [r for r in fake.sent(chat_id) if not r.get("edited")]


def write_config(folder: Path, fake: FakeBotAPI, database: Path) -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    replacements = {
        'base_url = "https://api.telegram.org/bot"': f'base_url = "{fake.base_url}"',
        'locale = "locales/vi.toml"': f'locale = "{ROOT / "locales" / "vi.toml"}"',
        'database = "data/doithoai.db"': f'database = "{database}"',
        # Crash safety, not alerts, is tested here: run without a staff chat, on purpose.
        "allow_no_staff_alerts = false": "allow_no_staff_alerts = true",
    }
    for old, new in replacements.items():
        assert old in text, f"config.toml no longer has {old!r}"
        text = text.replace(old, new, 1)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path
