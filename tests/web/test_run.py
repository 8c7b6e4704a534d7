"""`run` with `[web] enabled = true` serves the console beside the channels, on one runtime."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx

from bot.config import load_config
from bot.service import run_service
from tests.conftest import ROOT
from tests.fakes.fake_bot_api import FakeBotAPI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_run_serves_the_console_when_enabled(tmp_path):
    telegram = FakeBotAPI()
    await telegram.start()
    port = _free_port()
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for old, new in (('base_url = "https://api.telegram.org/bot"',
                      f'base_url = "{telegram.base_url}"'),
                     ('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"'),
                     ("staff_chat_id = 0", "staff_chat_id = -1001"),
                     ("enabled = false\nhost", "enabled = true\nhost"),
                     ("port = 8080", f"port = {port}")):
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path, environ={"TELEGRAM_BOT_TOKEN": telegram.token})
    service = asyncio.create_task(run_service(config, tmp_path / "s.db"))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    health = await http.get("/healthz")
                    break
                await asyncio.sleep(0.05)
            assert health.status_code == 200 and health.text == "ok"
            login = await http.get("/login")
            assert 'name="login"' in login.text and 'name="password"' in login.text
            assert (await http.get("/cum")).status_code == 303
        telegram.push_message(42, "/start")
        await telegram.wait_sent(42, 1, timeout=10)  # the bot answers beside it
    finally:
        service.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service
        await telegram.stop()
