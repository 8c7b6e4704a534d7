"""`python -m bot run` in-process: every channel with a token; one failing leaves the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from bot.config import load_config
from bot.service import run_service
from tests.conftest import ROOT
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.fake_zalo import FakeZalo


async def test_a_failing_channel_does_not_take_the_others_down(tmp_path):
    telegram, zalo = FakeBotAPI(), FakeZalo()
    await telegram.start()
    await zalo.start()
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace('base_url = "https://api.telegram.org/bot"',
                        f'base_url = "{telegram.base_url}"')
    text = text.replace('base_url = "https://bot-api.zaloplatforms.com/bot"',
                        f'base_url = "{zalo.base_url}"')
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    text = text.replace("staff_chat_id = 0", "staff_chat_id = -1001", 1)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    # Zalo rejects this token (401), so that channel fails to start; Telegram must still work.
    config = load_config(path, environ={"TELEGRAM_BOT_TOKEN": telegram.token,
                                        "ZALO_BOT_TOKEN": "1234:wrong-token-for-zalo"})
    service = asyncio.create_task(run_service(config, tmp_path / "s.db"))
    try:
        await telegram.wait_for(lambda f: any(m == "getUpdates" for m, _ in f.calls), 10,
                                what="Telegram polling")
        telegram.push_message(42, "/start")
        await telegram.wait_sent(42, 1, timeout=10)
        assert "hệ thống tự động" in telegram.sent(42)[0]["text"]
    finally:
        service.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service
        await telegram.stop()
        await zalo.stop()


def _config(tmp_path, telegram: FakeBotAPI, *replacements: tuple[str, str]):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace('base_url = "https://api.telegram.org/bot"',
                        f'base_url = "{telegram.base_url}"')
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={"TELEGRAM_BOT_TOKEN": telegram.token})


async def test_run_refuses_to_start_with_no_staff_chat_to_alert(tmp_path, capsys):
    telegram = FakeBotAPI()
    await telegram.start()
    try:
        code = await asyncio.wait_for(
            run_service(_config(tmp_path, telegram), tmp_path / "s.db"), 10)
        assert code != 0
        assert "`[telegram] staff_chat_id`" in capsys.readouterr().err
        assert telegram.calls == []  # not one request: no woman can write to it
    finally:
        await telegram.stop()


async def test_run_with_no_staff_chat_on_purpose_tells_her_the_truth(tmp_path):
    telegram = FakeBotAPI()
    await telegram.start()
    config = _config(tmp_path, telegram,
                     ("allow_no_staff_alerts = false", "allow_no_staff_alerts = true"))
    service = asyncio.create_task(run_service(config, tmp_path / "s.db"))
    try:
        await telegram.wait_for(lambda f: any(m == "getUpdates" for m, _ in f.calls), 10,
                                what="Telegram polling")
        telegram.push_message(43, "chồng em đang cầm dao đòi giết em, cứu em")
        await telegram.wait_sent(43, 1, timeout=10)
        said = "\n".join(m["text"] for m in telegram.sent(43))
        assert "113" in said and "chưa chuyển được" in said and "đã báo" not in said
    finally:
        service.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service
        await telegram.stop()


def test_run_with_telegram_unreachable_exits_with_one_clear_message(tmp_path, capsys, caplog):
    """A closed port as Telegram: one message naming the channel, exit 4, and no aiohttp
    "Unclosed client session" noise (the sessions opened for getMe are closed)."""
    import gc
    import socket

    from bot.cli import main
    from bot.service import NO_CHANNEL_EXIT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace('base_url = "https://api.telegram.org/bot"',
                        f'base_url = "http://127.0.0.1:{port}/bot"')
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    text = text.replace("staff_chat_id = 0", "staff_chat_id = -1001", 1)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:UNREACHABLE")
    try:
        with caplog.at_level(logging.WARNING):
            code = main(["run", "--config", str(path), "--db", str(tmp_path / "s.db")])
            gc.collect()
    finally:
        monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == NO_CHANNEL_EXIT
    assert "Không kênh nào khởi động được" in err
    assert f"telegram: Telegram unreachable at http://127.0.0.1:{port}" in err
    assert "UNREACHABLE" not in err and "UNREACHABLE" not in caplog.text
    everything = err + caplog.text
    assert "Unclosed" not in everything and "Traceback" not in everything
