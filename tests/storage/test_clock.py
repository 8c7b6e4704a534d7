"""One clock: the runtime's. Nothing else reads the wall clock, so the suite passes on any date."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
              ("date", "today"), ("time", "time")}


def _wall_clock_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute | ast.Name):
            owner = node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id
            if (owner, node.attr) in WALL_CLOCK:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {owner}.{node.attr}")
    return found


def test_only_the_clock_module_reads_the_wall_clock():
    reads = []
    for package in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != ROOT / "storage" / "clock.py":
                reads += _wall_clock_reads(path)
    assert reads == []


@pytest.mark.slow  # two more pytest processes: in CI's slow step
@pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian) not installed")
@pytest.mark.parametrize("wall", ["2026-11-30 23:50:00", "2031-07-20 08:00:00"])
def test_digest_suite_passes_whatever_the_real_date(wall):
    """The digest tests fix the runtime's clock to 1 December 2026; the machine's own date must
    not matter (main was red from 2 December 2026 because storage stamped rows with it)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        ["faketime", wall, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/bot/test_digest.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
