"""Cost of the danger screen per message, beside the detector before the speed work, same run.

The baseline is handlers/safety.py as it was before (git commit BASELINE, read with `git show`
and loaded as a separate module) on the SAME keyword and context files, so only the code
differs (its verdicts differ on a few messages: this round also changed the decision rules, not
only the speed). That the shortcuts change no verdict is checked here against the current
logic with every shortcut off (every rule tried, word by word, nothing remembered), and by
tests/handlers/test_danger_speed.py. Times are CPU time (process_time), best of REPEAT passes,
on every
SAMPLE-th message, so other developers' load on the shared machine weighs less (it still
weighs: compare the two arms of one run, not runs).

- typical: the throughput script's question (a loan for livestock), assessed from scratch;
- non-danger: every question of tests/data/cluster_*.jsonl the detector leaves alone;
- all sets: every message of tests/data/danger_*.jsonl and cluster_*.jsonl;
- per message in the bot: the screen, then the sensitive-data check at confirm on the same text
  (the old code assessed it twice; now the second is remembered).

Run from the repo root: `.venv/bin/python bench/danger_speed.py`. Prints ONE JSON line.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.safety import DangerDetector  # noqa: E402

BASELINE = "f8809a5"  # main when this work began: ~700 patterns tried one by one, twice
REPEAT = 3
SAMPLE = 3  # every third message of each set: the old code takes ~4 ms a message
TYPICAL = "Chị em trong bản muốn vay vốn ưu đãi để chăn nuôi, xin hỏi thủ tục thế nào ạ?"


def _baseline_detector() -> Callable[[str], object]:
    source = subprocess.run(["git", "show", f"{BASELINE}:handlers/safety.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    # the teencode loader has moved to handlers/normalise since; the old code is the same
    source = source.replace(
        "from handlers.text import DEFAULT_TEENCODE, clean, fold, load_teencode",
        "from handlers.normalise import DEFAULT_TEENCODE, load_teencode\n"
        "from handlers.text import clean, fold")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "safety_before.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("safety_before", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["safety_before"] = module
        spec.loader.exec_module(module)
    locales = ROOT / "locales"
    return module.DangerDetector.from_files(locales / "danger_keywords.txt",
                                            locales / "danger_context.txt",
                                            locales / "teencode.tsv")


def _texts(pattern: str) -> list[str]:
    out = []
    for path in sorted((ROOT / "tests" / "data").glob(pattern)):
        out += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    return out


def _ms_per_text(fn: Callable[[str], object], texts: list[str]) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        start = time.process_time()
        for text in texts:
            fn(text)
        best = min(best, time.process_time() - start)
    return round(best / len(texts) * 1000, 4)


def _verdict(found: object) -> object:
    return None if found is None else (found.level, found.category, found.signals)


def _slow_verdicts(texts: list[str]) -> list[object]:
    """The current logic with every shortcut off (what tests/handlers/test_danger_speed.py does)."""
    from handlers import safety
    from tests.handlers.test_danger_speed import _slow_candidates, _slow_tokens

    fast = (safety._candidates, safety._tokens)
    safety._candidates, safety._tokens = _slow_candidates, _slow_tokens
    try:
        detector = DangerDetector.from_files()
        return [_verdict(detector._assess(t)) for t in texts]
    finally:
        safety._candidates, safety._tokens = fast


def main() -> None:
    before = _baseline_detector()
    after = DangerDetector.from_files()
    every = _texts("danger_*.jsonl") + _texts("cluster_*.jsonl")
    differ = sum(a != _verdict(after._assess(t)) for a, t in zip(_slow_verdicts(every), every,
                                                                 strict=True))
    changed = sum(_verdict(before(t)) != _verdict(after._assess(t)) for t in every)
    quiet = [t for t in _texts("cluster_*.jsonl") if after._assess(t) is None][::SAMPLE]
    every = every[::SAMPLE]

    def in_bot(detector: Callable[[str], object]) -> Callable[[str], object]:
        def run(text: str) -> None:
            detector(text)  # the screen
            detector(text)  # the sensitive-data check when she confirms
        return run

    def fresh(text: str) -> None:  # a new detector's cache: the screen pays, confirm does not
        after._recent.clear()
        in_bot(after)(text)

    report = {
        "bench": "danger_speed",
        "messages": len(_texts("danger_*.jsonl") + _texts("cluster_*.jsonl")),
        "timed": len(every),
        "load_average": round(os.getloadavg()[0], 1),
        "verdicts_differ_from_no_shortcuts": differ,
        "verdicts_changed_since_baseline": changed,
        "ms_typical": {"baseline": _ms_per_text(before, [TYPICAL] * 200),
                       "now": _ms_per_text(after._assess, [TYPICAL] * 200)},
        "ms_non_danger": {"n": len(quiet), "baseline": _ms_per_text(before, quiet),
                          "now": _ms_per_text(after._assess, quiet)},
        "ms_all_sets": {"baseline": _ms_per_text(before, every),
                        "now": _ms_per_text(after._assess, every)},
        "ms_per_message_in_bot_non_danger": {"baseline": _ms_per_text(in_bot(before), quiet),
                                             "now": _ms_per_text(fresh, quiet)},
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
