"""Attacks with real `python -m bot run` processes against the fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.crash_driver import BotProcess, write_config
from tests.fakes.bot_process import DANGER, WOMAN, stalled_send, texts, with_staff_group
from tests.fakes.fake_bot_api import FakeBotAPI

pytestmark = pytest.mark.slow


async def test_second_run_through_a_symlink_to_the_same_database_refuses(tmp_path):
    fake = FakeBotAPI()
    await fake.start()
    data = tmp_path / "volume"
    data.mkdir()
    database = data / "bot.db"
    config = write_config(tmp_path, fake, database)
    link = tmp_path / "bot.db"
    link.symlink_to(database)  # e.g. data/bot.db -> /mnt/volume/bot.db
    logs = tmp_path / "logs"
    logs.mkdir()
    first = BotProcess(fake, config, database, logs)
    try:
        first.spawn()
        await first.wait_ready()
        env = os.environ | {"TELEGRAM_BOT_TOKEN": fake.token, "PYTHONPATH": str(ROOT)}
        try:
            second = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "run", "--config", str(config), "--db", str(link)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=15)
            returncode = second.returncode
        except subprocess.TimeoutExpired:
            returncode = None  # still running after 15 s: two bots on one database
        assert returncode is not None and returncode != 0
    finally:
        first.kill_now()
        await fake.stop()


async def test_second_run_refuses_even_after_the_lock_file_was_removed(tmp_path):
    fake = FakeBotAPI()
    await fake.start()
    database = tmp_path / "bot.db"
    config = write_config(tmp_path, fake, database)
    logs = tmp_path / "logs"
    logs.mkdir()
    first = BotProcess(fake, config, database, logs)
    try:
        first.spawn()
        await first.wait_ready()
        (tmp_path / "bot.db.lock").unlink(missing_ok=True)  # any lock file a bot might keep
        env = os.environ | {"TELEGRAM_BOT_TOKEN": fake.token, "PYTHONPATH": str(ROOT)}
        try:
            second = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "bot", "run", "--config", str(config),
                                 "--db", str(database)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=15)
            returncode = second.returncode
        except subprocess.TimeoutExpired:
            returncode = None  # still running after 15 s: two bots on one database
        assert returncode is not None and returncode != 0
    finally:
        first.kill_now()
        await fake.stop()


def danger_rows(database) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT id, sent_at, lease_until FROM outbox "
                            "WHERE purpose = 'danger'").fetchall()


async def crash_while_stalled(tmp_path, chat, word: str, then_wait: float):
    """Start the bot, she writes DANGER, Telegram stalls on one send, kill -9, restart, wait."""
    fake = FakeBotAPI()
    await fake.start()
    database = tmp_path / "bot.db"
    config = write_config(tmp_path, fake, database)
    with_staff_group(config)
    logs = tmp_path / "logs"
    logs.mkdir()
    hung, release, stall = stalled_send(fake, chat, word)
    bot = BotProcess(fake, config, database, logs)
    try:
        bot.spawn()
        await bot.wait_ready()
        fake.push_message(WOMAN, DANGER)
        await asyncio.wait_for(hung.wait(), 20)
        await asyncio.sleep(1.5)  # the poll loop moves on meanwhile (confirms the update)
        await bot.kill()
        stall["on"] = False
        release.set()
        committed = danger_rows(database)
        bot.spawn()
        await bot.wait_ready()
        await asyncio.sleep(then_wait)
        return texts(fake, WOMAN), texts(fake, -1001), committed
    finally:
        release.set()
        bot.kill_now()
        await fake.stop()


async def test_kill9_after_commit_before_hotlines_are_sent_she_still_gets_them(tmp_path):
    told, _, committed = await crash_while_stalled(tmp_path, WOMAN, "111", then_wait=10)
    assert committed, "her message was stored (the staff alert row is in the outbox)"
    assert any("111" in t for t in told), told  # ...but she never gets the hotlines


async def test_kill9_while_a_danger_alert_is_being_sent_staff_get_it_soon_after_restart(
        tmp_path):
    _, staff, committed = await crash_while_stalled(tmp_path, -1001, "KHẨN", then_wait=15)
    assert committed and committed[0][2] is not None, committed  # leased when killed
    assert any("KHẨN" in t for t in staff), staff
