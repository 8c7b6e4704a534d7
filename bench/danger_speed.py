"""Cost of the danger screen per message, beside the detector before the speed work, same run.

The baseline is handlers/safety.py as it was before (git commit BASELINE, read with `git show`
and loaded as a separate module) on the SAME keyword and context files, so only the code
differs. Both arms must give the same verdict on every message (checked here; the test
tests/test_danger_speed.py checks it on every set). Times are CPU time (process_time), best of
REPEAT passes, so other developers' load on the shared machine weighs less.

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
TYPICAL = "Chị em trong bản muốn vay vốn ưu đãi để chăn nuôi, xin hỏi thủ tục thế nào ạ?"


def _baseline_detector() -> Callable[[str], object]:
    source = subprocess.run(["git", "show", f"{BASELINE}:handlers/safety.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
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


def main() -> None:
    before = _baseline_detector()
    after = DangerDetector.from_files()
    every = _texts("danger_*.jsonl") + _texts("cluster_*.jsonl")
    differ = sum(_verdict(before(t)) != _verdict(after._assess(t)) for t in every)
    quiet = [t for t in _texts("cluster_*.jsonl") if after._assess(t) is None]

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
        "messages": len(every),
        "verdicts_differ": differ,
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
