"""Danger detection quality: personal danger flagged, policy questions left alone.

Sets (tests/data/):
- danger_cases.jsonl: the older corpus, written with the keyword file at hand ("danger" true/false).
- danger_dev.jsonl: written by a helper who never read the keyword file; label "danger" (she or
  someone she knows is in danger now) or "policy" (a question on the same topics in general).
  Split by a hash of the id: a third (`held_out`) was kept out of sight while the context rules
  (locales/danger_context.txt) were written on the other two thirds (`dev`). Once looked at, a
  held-out set is a dev set: the next round needs a new one.
- danger_probe.jsonl: 263 messages the developer wrote while working (in eight batches, each
  first measured untouched, then used): a regression set, not a measure of unseen text.
- danger_blind1.jsonl: the first BLIND set (308 messages by a helper who never read the code or
  the keyword files), measured once blind on 2026-12-03 (recall 0.902, false alarms 0.081). It
  is NOW A DEV SET: split by a salted hash of the id (`held_out(id, "blind1")`), two thirds
  (`blind1_tune`) were read and tuned on in the next round, one third (`blind1_check`, 105
  messages) was not read and measured once at the end of that round. After that it is dev too.
- danger_probe2.jsonl: messages the developer wrote by hand in the next round, in batches each
  measured untouched before it was used (figures in docs/benchmarks.md), then a regression set.
- danger_blind3.jsonl: a third writer's blind set (180 danger, 142 policy), measured once blind
  on main (recall 0.906, false alarms 0.106). Then split by `held_out(id, "blind3")`: the rest
  (`blind3_tune`) was read and tuned on; the third (`blind3_check`, 127 messages) was measured
  once after that (recall 0.883 -> 0.896, false alarms 0.100 -> 0.100), then read: dev too now.
- danger_blind4.jsonl: a fourth blind set, measured once blind (recall 0.915, false alarms
  0.191), then split by `held_out(id, "blind4")`: `blind4_tune` (two thirds) read and tuned on,
  `blind4_check` (the third) not read, measured once at the end of that round.
- danger_blind5.jsonl: a fifth blind set (196 danger, 172 policy), measured once blind (recall
  0.944, false alarms 0.070), then split by `held_out(id, "blind5")`: `blind5_tune` (two thirds)
  read and tuned on, `blind5_check` (the third) not read, measured once at the end of that round.
- danger_blind7.jsonl: a seventh blind set (186 danger, 148 policy; a helper who never read the
  code or the rule files), measured once blind on main b31cf40 (recall 0.957, false alarms
  0.081) and once on 2adb7f3 after danger8 merged (recall 0.989, false alarms 0.081), both
  before anyone read it. Split by `held_out(id, "blind7")` like the others for the next round.
- danger_everyday.jsonl: 60 everyday messages, none of them danger ("policy": greetings, thanks,
  contact details, "tối nay em về muộn", a family told in passing), written by the developer
  of danger8 after reading the rules, not aimed at them. No other set has any: on main the rules
  flagged 19 of them (2 as danger). Not blind; a regression set for false alarms on chat.

The second reader (handlers/danger_model.py, locales/danger_model.json) is trained on every set
above but danger_blind7, which came after the shipped weights (bench/train_danger_model.py
--write would take it in): its figures here are in-sample, blind7's are not. Its honest
estimate is that script's `--cv` (each file left out in turn, and the blind sets with the rules
they were first measured on).

Each message is judged three ways:
- baseline: the rule on main before this work - any match in danger_keywords.txt escalates;
- rules: `DangerDetector` without its model (the rules alone);
- detector: `DangerDetector` called directly (rules, then the model where they are silent);
- chat: the real path - a new member types the message at idle in the terminal chat; flagged if
  the reply shows a hotline, escalated if a staff alert was queued.
recall = danger messages flagged (hotlines shown; "maybe" counts); false_alarm = policy messages
flagged; escalated = share given a staff alert.

Run from the repo root: `.venv/bin/python bench/danger_quality.py [SET.jsonl]` (a path: that set
only, lines {"text", "label": "danger"|"policy"}, e.g. a new blind set). Prints ONE JSON line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.safety import (
    DANGER,
    DangerDetector,
    default_detector,
    default_keywords,
    detect_danger,
)

__all__ = ["held_out", "load_sets", "main"]

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def held_out(case_id: str, salt: str = "") -> bool:
    """The held-out third of a set: fixed by the id (and a salt per set), not by a random state.
    No salt: danger_dev.jsonl's split; "blind1": danger_blind1.jsonl's."""
    key = f"{salt}:{case_id}" if salt else case_id
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 == 0


def _rows(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_sets() -> dict[str, list[tuple[str, bool]]]:
    """{set name: [(text, is_danger)]}."""
    dev = _rows("danger_dev.jsonl")
    blind1 = _rows("danger_blind1.jsonl")
    blind3 = _rows("danger_blind3.jsonl")
    blind4 = _rows("danger_blind4.jsonl")
    blind5 = _rows("danger_blind5.jsonl")
    blind7 = _rows("danger_blind7.jsonl")
    return {
        "cases": [(r["text"], bool(r["danger"])) for r in _rows("danger_cases.jsonl")],
        "dev": [(r["text"], r["label"] == "danger") for r in dev if not held_out(r["id"])],
        "held_out": [(r["text"], r["label"] == "danger") for r in dev if held_out(r["id"])],
        "probe": [(r["text"], r["label"] == "danger") for r in _rows("danger_probe.jsonl")],
        "probe2": [(r["text"], r["label"] == "danger") for r in _rows("danger_probe2.jsonl")],
        "blind1_tune": [(r["text"], r["label"] == "danger") for r in blind1
                        if not held_out(r["id"], "blind1")],
        "blind1_check": [(r["text"], r["label"] == "danger") for r in blind1
                         if held_out(r["id"], "blind1")],
        "blind3_tune": [(r["text"], r["label"] == "danger") for r in blind3
                        if not held_out(r["id"], "blind3")],
        "blind3_check": [(r["text"], r["label"] == "danger") for r in blind3
                         if held_out(r["id"], "blind3")],
        "blind4_tune": [(r["text"], r["label"] == "danger") for r in blind4
                        if not held_out(r["id"], "blind4")],
        "blind4_check": [(r["text"], r["label"] == "danger") for r in blind4
                         if held_out(r["id"], "blind4")],
        "blind5_tune": [(r["text"], r["label"] == "danger") for r in blind5
                        if not held_out(r["id"], "blind5")],
        "blind5_check": [(r["text"], r["label"] == "danger") for r in blind5
                         if held_out(r["id"], "blind5")],
        "blind7_tune": [(r["text"], r["label"] == "danger") for r in blind7
                        if not held_out(r["id"], "blind7")],
        "blind7_check": [(r["text"], r["label"] == "danger") for r in blind7
                         if held_out(r["id"], "blind7")],
        "everyday": [(r["text"], r["label"] == "danger") for r in _rows("danger_everyday.jsonl")],
    }


def _score(cases: list[tuple[str, bool]], judged: list[tuple[bool, bool]]) -> dict:
    """judged: (flagged, escalated) per case."""
    danger = [j for (_, d), j in zip(cases, judged, strict=True) if d]
    policy = [j for (_, d), j in zip(cases, judged, strict=True) if not d]
    def share(values: list) -> float | None:  # None: the set has none of that label
        return round(sum(values) / len(values), 3) if values else None

    return {
        "recall": share([f for f, _ in danger]),
        "false_alarm": share([f for f, _ in policy]),
        "escalated_danger": share([e for _, e in danger]),
        "escalated_policy": share([e for _, e in policy]),
    }


def _judge_direct(fn: Callable[[str], object]) -> Callable[[str], tuple[bool, bool]]:
    def judge(text: str) -> tuple[bool, bool]:
        result = fn(text)
        return result is not None, result is not None and getattr(result, "level", DANGER) == DANGER
    return judge


async def _judge_chat(sets: dict[str, list[tuple[str, bool]]]) -> dict[str, list]:
    """Every message typed at idle by a new member on the terminal, through the dispatcher."""
    from bot.config import load_config
    from bot.runtime import open_runtime
    from handlers.types import Incoming
    from tests.conftest import FIXED_NOW, Clock

    hotlines = None
    out: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        text = (ROOT / "config.toml").read_text(encoding="utf-8")
        text = text.replace("staff_ids = []\nstaff_chat_id = 0",
                            "staff_ids = [900]\nstaff_chat_id = -1001", 1)
        text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
        path = Path(tmp) / "config.toml"
        path.write_text(text, encoding="utf-8")
        config = load_config(path, environ={})
        hotlines = [h.number for h in config.settings.hotlines]
        runtime = await open_runtime(config, Path(tmp) / "bench.db", clock=Clock(FIXED_NOW))
        try:
            n = 0
            for name, cases in sets.items():
                judged = []
                for message, _ in cases:
                    n += 1
                    user = f"b{n}"
                    replies = await runtime.dispatcher.handle(Incoming(
                        channel="terminal", chat_id=user, user_id=user, text=message,
                        update_key=str(n)))
                    shown = "\n".join(r.text for r in replies)
                    async with runtime.db.transaction() as conn:
                        cur = await conn.execute(
                            "SELECT COUNT(*) FROM outbox WHERE purpose = 'danger' "
                            "AND dedupe_key LIKE ?", (f"danger:terminal:{n}:%",))
                        alerts = (await cur.fetchone())[0]
                    judged.append((any(h in shown for h in hotlines), alerts > 0))
                out[name] = judged
        finally:
            await runtime.close()
    return out


def main() -> None:
    if len(sys.argv) > 1:
        rows = [json.loads(line) for line in Path(sys.argv[1]).read_text(
            encoding="utf-8").splitlines() if line.strip()]
        sets = {Path(sys.argv[1]).stem: [(r["text"], r["label"] == "danger") for r in rows]}
    else:
        sets = load_sets()
    keywords = default_keywords()
    detector = default_detector()
    baseline = _judge_direct(lambda text: detect_danger(text, keywords))
    direct = _judge_direct(detector)
    rules = _judge_direct(DangerDetector.from_files(model=None))
    chat = asyncio.run(_judge_chat(sets))
    report: dict = {"bench": "danger_quality"}
    for name, cases in sets.items():
        report[name] = {
            "n_danger": sum(d for _, d in cases),
            "n_policy": sum(not d for _, d in cases),
            "baseline_keywords": _score(cases, [baseline(t) for t, _ in cases]),
            "rules": _score(cases, [rules(t) for t, _ in cases]),
            "detector": _score(cases, [direct(t) for t, _ in cases]),
            "chat": _score(cases, chat[name]),
        }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
