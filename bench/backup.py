"""Online backups while members write: what a copy costs the women writing at that moment.

A second process writes questions through the real flows (tests/fakes/question_writer.py) into
a fresh database. Baseline, same run: its receipts per second over `--seconds` with no backup.
Then the same length of time while `python -m bot backup` runs back to back in a third
process, as the daily job or an operator would: receipts per second meanwhile, backups made,
their median duration, and the database size. Every copy is checked afterwards (it opens and
passes integrity_check) and each holds at least the receipts shown before it started.

Prints one JSON line. Usage: python bench/backup.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "config.demo.toml"
        config.write_text((ROOT / "config.demo.toml").read_text(encoding="utf-8").replace(
            'locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"'), encoding="utf-8")
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        writer = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.question_writer", str(config),
             str(work / "data" / "demo.db")],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        seen: list[tuple[float, str]] = []
        reader = threading.Thread(target=_read, args=(writer, seen), daemon=True)
        reader.start()
        try:
            while len(seen) < 5:  # warmed up: imports done, first members through
                time.sleep(0.05)
            start = len(seen)
            time.sleep(args.seconds)
            baseline = (len(seen) - start) / args.seconds
            copies, durations, checks = [], [], []
            start, t_end = len(seen), time.monotonic() + args.seconds
            while time.monotonic() < t_end:
                before = {r for _, r in seen}
                out = work / f"copy-{len(copies)}.db"
                t0 = time.monotonic()
                subprocess.run([sys.executable, "-m", "bot", "backup", str(out), "--config",
                                str(config)], cwd=ROOT, env=env, check=True,
                               capture_output=True)
                durations.append(time.monotonic() - t0)
                copies.append(out)
                checks.append(before)
            during = (len(seen) - start) / args.seconds
        finally:
            writer.terminate()
            writer.wait(30)
        complete = all(_holds(copy, before) for copy, before in zip(copies, checks, strict=True))
        size = (work / "data" / "demo.db").stat().st_size
    print(json.dumps({
        "bench": "backup", "seconds": args.seconds,
        "receipts_per_s_baseline": round(baseline, 1),
        "receipts_per_s_during_backups": round(during, 1),
        "ratio": round(during / baseline, 2) if baseline else None,
        "backups": len(copies), "backup_s_p50": round(statistics.median(durations), 3),
        "db_bytes": size, "every_copy_whole_and_complete": complete,
    }))


def _read(writer: subprocess.Popen, seen: list[tuple[float, str]]) -> None:
    for line in writer.stdout:
        seen.append((time.monotonic(), line.split("\t")[0]))


def _holds(copy: Path, receipts: set[str]) -> bool:
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            return False
        have = {row[0] for row in conn.execute("SELECT receipt FROM questions")}
    finally:
        conn.close()
    return receipts <= have


if __name__ == "__main__":
    main()
