"""Red-team attack (redteam.md, promise 7): the Bot API refuses the token (401 on getMe, as for
a revoked or mistyped one) and `run` / `webhook info` printed the whole token in the error.
Every configured secret is redacted from whatever the commands print, whatever its shape."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fakes.fake_bot_api import FakeBotAPI

SHAPES = ("777:Sup3r-Secr3t_tok", "42:shortsecret", "weirdtokenNoColonZq9xx",
          "123456789:AAH-very_long_Secret_part_0123456789abcdef")


@contextmanager
def refusing_bot_api() -> Iterator[str]:
    """The fake Bot API in a thread of its own: it answers 401 to any token but its own."""
    loop = asyncio.new_event_loop()
    fake = FakeBotAPI()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake.base_url
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _config(tmp_path: Path, base_url: str) -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace('base_url = "https://api.telegram.org/bot"', f'base_url = "{base_url}"')
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    text = text.replace("staff_chat_id = 0", "staff_chat_id = -1001", 1)
    text = text.replace('database = "data/doithoai.db"', f'database = "{tmp_path}/run.db"', 1)
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _pieces(token: str) -> list[str]:
    tail = token.partition(":")[2]
    return [token, *([tail] if len(tail) >= 4 else [])]


@pytest.mark.parametrize("token", SHAPES)
def test_a_refused_token_is_never_printed(tmp_path, cli, token):
    with refusing_bot_api() as base_url:
        config = str(_config(tmp_path, base_url))
        env = {"TELEGRAM_BOT_TOKEN": token}
        run = cli("run", "--config", config, env=env)
        info = cli("webhook", "info", "--channel", "telegram", "--config", config, env=env)
    assert run.returncode != 0 and "TELEGRAM_BOT_TOKEN" in run.stderr  # it was refused
    assert info.returncode != 0 and "info failed" in info.stderr
    for piece in _pieces(token):
        for printed in (run.stdout, run.stderr, info.stdout, info.stderr):
            assert piece not in printed
    assert "<token>" in run.stderr + info.stderr
