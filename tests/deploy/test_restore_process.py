"""A backup taken while a real second process writes members' questions, then restored: every
question whose receipt she was shown before the backup started is in it, with its words."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.fakes.question_writer import question

pytestmark = pytest.mark.slow


def read_receipts(writer: subprocess.Popen, count: int) -> dict[str, int]:
    out = {}
    for _ in range(count):
        line = writer.stdout.readline()
        assert line, f"the writer stopped: {writer.stderr.read()[-2000:]}"
        receipt, n = line.rstrip("\n").split("\t")
        out[receipt] = int(n)
    return out


def test_restore_of_a_backup_taken_mid_write_has_every_confirmed_question(tmp_path):
    config = tmp_path / "config.demo.toml"
    config.write_text((ROOT / "config.demo.toml").read_text(encoding="utf-8").replace(
        'locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"'), encoding="utf-8")
    database = tmp_path / "data" / "demo.db"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    bot = [sys.executable, "-m", "bot"]
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.question_writer", str(config), str(database)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        confirmed = read_receipts(writer, 20)  # shown to her, so committed
        copy = tmp_path / "mid-write.db"
        backup = subprocess.run([*bot, "backup", str(copy), "--config", str(config)],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert backup.returncode == 0, backup.stderr
        after = read_receipts(writer, 40)  # she went on writing during and after the copy
    finally:
        writer.terminate()
        writer.wait(30)
    restored = subprocess.run([*bot, "restore", str(copy), "--config", str(config)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(database) as conn:
        rows = dict(conn.execute("SELECT receipt, text FROM questions"))
    for receipt, n in confirmed.items():
        assert rows.get(receipt) == question(n), receipt
    # A snapshot: the first questions up to the moment of the copy, none half-written, and
    # not the final state (what she wrote after the copy is only in the replaced file).
    numbers = sorted(int(r.split("-")[1]) for r in rows)
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(text == question(int(r.split("-")[1]) - 1) for r, text in rows.items())
    assert len(rows) < len(confirmed) + len(after)
    with sqlite3.connect(next(tmp_path.glob("data/demo.db.replaced-????????-??????"))) as conn:
        kept = {row[0] for row in conn.execute("SELECT receipt FROM questions")}
    assert set(confirmed) | set(after) <= kept  # the replaced file kept aside has them all
