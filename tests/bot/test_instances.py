"""One bot per database, attacked with real processes: a second `run`, a kill -9, two senders."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter

import pytest

from storage import queries as q
from storage.db import Database
from tests.conftest import ROOT
from tests.crash_driver import BotProcess, write_config
from tests.fakes.fake_bot_api import FakeBotAPI

pytestmark = pytest.mark.slow  # real bot processes: its own CI step


def _with_staff_group(config_path) -> None:
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace("staff_ids = []\nstaff_chat_id = 0",
                                        "staff_ids = [900]\nstaff_chat_id = -1001", 1),
                           encoding="utf-8")


async def test_a_second_run_on_the_same_database_refuses_and_women_are_told_once(tmp_path):
    fake = FakeBotAPI()
    await fake.start()
    database = tmp_path / "bot.db"
    config = write_config(tmp_path, fake, database)
    _with_staff_group(config)
    logs = tmp_path / "logs"
    logs.mkdir()
    first = BotProcess(fake, config, database, logs)
    try:
        first.spawn()
        await first.wait_ready()
        env = os.environ | {"TELEGRAM_BOT_TOKEN": fake.token, "PYTHONPATH": str(ROOT)}
        second = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "run", "--config", str(config), "--db", str(database)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert "đang chạy" in second.stderr and "bot.db" in second.stderr
        for chat in range(8001, 8011):
            fake.push_message(chat, "/start")
        for chat in range(8001, 8011):
            await fake.wait_sent(chat, 1, timeout=20)
        await asyncio.sleep(1.0)  # a second poller, had it started, would answer by now
        assert all(len(fake.sent(chat)) == 1 for chat in range(8001, 8011))

        # kill -9 leaves no cleanup behind; the kernel drops the lock and a new run starts.
        await first.kill()
        first.spawn()
        await first.wait_ready()
        fake.push_message(8001, "/cua_toi")
        await fake.wait_sent(8001, 2, timeout=20)
        assert await first.terminate() == 0
    finally:
        first.kill_now()
        await fake.stop()


async def test_two_senders_in_two_processes_never_send_a_row_twice(tmp_path):
    database = tmp_path / "outbox.db"
    db = await Database.open(database)
    async with db.transaction() as conn:
        for i in range(300):
            await q.enqueue(conn, "telegram", str(5000 + i % 60), f"Tin số {i}", "answer",
                            dedupe_key=f"t:{i}", now=db.clock())
    await db.close()
    outs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.fakes.drain_outbox", str(database),
                               str(out), "15"], cwd=ROOT, env=env) for out in outs]
    assert [await asyncio.to_thread(p.wait, 60) for p in procs] == [0, 0]
    lines = [line for out in outs for line in out.read_text(encoding="utf-8").splitlines()]
    counts = Counter(lines)
    assert len(counts) == 300, "every message sent"
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1][:5]
    assert all(out.read_text(encoding="utf-8") for out in outs), "both senders really ran"
