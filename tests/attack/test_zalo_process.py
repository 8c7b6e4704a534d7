"""A real `python -m bot run` with the Zalo webhook (fake Zalo and webhook on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys

import httpx
import pytest

from tests.conftest import ROOT
from tests.fakes.fake_zalo import TOKEN, FakeZalo

pytestmark = pytest.mark.slow

SECRET = "a-long-enough-webhook-secret"
DANGER = "Chồng em đang cầm dao đòi giết em, em trốn trong bếp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zalo_config(folder, fake: FakeZalo, database, port: int):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for old, new in {
        'base_url = "https://bot-api.zaloplatforms.com/bot"': f'base_url = "{fake.base_url}"',
        'development only.\nmode = "polling"': 'development only.\nmode = "webhook"',  # [zalo]
        "webhook_port = 8088": f"webhook_port = {port}",
        'locale = "locales/vi.toml"': f'locale = "{ROOT / "locales" / "vi.toml"}"',
        'database = "data/doithoai.db"': f'database = "{database}"',
        "allow_no_staff_alerts = false": "allow_no_staff_alerts = true",  # no staff group here
    }.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_zalo_webhook_does_not_confirm_a_message_it_then_loses(tmp_path):
    fake = FakeZalo()
    await fake.start()
    database, port = tmp_path / "bot.db", free_port()
    config = zalo_config(tmp_path, fake, database, port)
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"} | {
        "ZALO_BOT_TOKEN": TOKEN, "ZALO_WEBHOOK_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "bot.log").open("wb")

    def spawn() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(config),
                                 "--db", str(database)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)

    url = f"http://127.0.0.1:{port}/zalo/webhook"
    headers = {"X-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"}

    async def post(http, text: str, message_id: str) -> int:
        body = {"event_name": "message.text.received",
                "message": fake.message("zv", text=text, message_id=message_id)}
        return (await http.post(url, content=json.dumps(body), headers=headers)).status_code

    async def ready(http, proc) -> None:
        for _ in range(300):
            assert proc.poll() is None, (tmp_path / "bot.log").read_text()[-2000:]
            with contextlib.suppress(httpx.TransportError):
                await http.post(url, content=b"{}", headers=headers)
                return
            await asyncio.sleep(0.1)
        raise AssertionError("webhook not listening")

    proc = spawn()
    lock = None
    try:
        # Longer than the webhook's own settle limit (12 s): its answer, 200 or 503, is the point.
        async with httpx.AsyncClient(timeout=30) as http:
            await ready(http, proc)
            assert await post(http, "/start", "m0") == 200
            for _ in range(100):
                if fake.texts("zv"):
                    break
                await asyncio.sleep(0.1)
            assert fake.texts("zv"), "the bot answers on Zalo"
            lock = sqlite3.connect(database, timeout=1, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")  # a slow moment of the disk (a checkpoint, a flood)
            confirmed = await post(http, DANGER, "m1")
            await asyncio.sleep(0.5)
            proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(proc.wait)
            lock.execute("ROLLBACK")
            lock.close()
            lock = None
            proc = spawn()
            await ready(http, proc)
            await asyncio.sleep(4)
        told = fake.texts("zv")
    finally:
        if lock is not None:
            lock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
        await fake.stop()
    assert confirmed == 200  # Zalo was told the message was taken...
    assert any("111" in t or "CHƯA được lưu" in t for t in told), told  # ...she hears nothing
