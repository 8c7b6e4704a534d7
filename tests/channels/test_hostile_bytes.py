"""Bytes no text should hold, through every channel's real parser: lone surrogates (JSON can carry
"\\ud800"), NUL, DEL, C1 controls, line and paragraph separators, CR. Nothing crashes, nothing is
lost or silently cut, and what is stored is valid UTF-8 with those characters normalised."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from bot.channels.zalo import ZaloChannel
from tests.conftest import ROOT
from tests.fakes.cli import wide_open_config
from tests.fakes.fake_zalo import TOKEN, FakeZalo
from tests.fakes.telegram_chat import send, start_channel, text_of

HOSTILE = ("Xin hỏi\ud800 vay vốn\u0000 chăn nuôi\u007f bò\u0085 sinh sản\u2028thủ tục"
           "\u2029thế nào\r\nạ\u009b\udfff? Em cảm ơn")
EXPECTED_WORDS = ["Xin hỏi", "vay vốn", "chăn nuôi", "bò", "sinh sản", "thủ tục", "thế nào",
                  "ạ", "Em cảm ơn"]


async def stored_texts(runtime) -> list[str]:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT text FROM questions ORDER BY id")
        return [row[0] for row in await cur.fetchall()]


def assert_clean(text: str) -> None:
    text.encode("utf-8")  # valid UTF-8: no lone surrogate survived
    assert not any(ch in text for ch in "\u0000\u007f\u0085\u009b\u2028\u2029\r")
    for words in EXPECTED_WORDS:  # nothing cut
        assert words in text, (words, text)


async def test_telegram_surrogates_and_controls_are_stored_normalised(runtime, fake):
    telegram = await start_channel(runtime, fake)
    chat = 611
    try:
        for line in ("/start", "1", "nam tam", "1", HOSTILE, "2"):
            replies = await send(fake, chat, line)
            assert "trục trặc" not in text_of(replies), line
        replies = await send(fake, chat, "gui")
        assert "LC27-000001" in text_of(replies)
    finally:
        await telegram.stop()
    (stored,) = await stored_texts(runtime)
    assert_clean(stored)


async def test_zalo_webhook_body_with_surrogates_is_answered_and_stored(runtime):
    fake = FakeZalo()
    await fake.start()
    hook = ZaloChannel(runtime, token=TOKEN, base_url=fake.base_url, mode="webhook")
    hook._secret = b"a-long-enough-secret"
    transport = httpx.ASGITransport(app=hook.webhook_app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://zalo.test") as http:
            for i, line in enumerate(("/start", "1", "nam tam", "1", HOSTILE, "2", "gui")):
                body = {"event_name": "message.text.received",
                        "message": fake.message("z1", text=line, message_id=f"m{i}")}
                raw = json.dumps(body, ensure_ascii=True).encode("ascii")  # "\ud800" escaped
                response = await http.post("/zalo/webhook", content=raw, headers={
                    "X-Bot-Api-Secret-Token": "a-long-enough-secret",
                    "content-type": "application/json"})
                assert response.status_code == 200
                assert await hook.wait_idle(5)
        assert "LC27-000001" in fake.texts("z1")[-1]
        (stored,) = await stored_texts(runtime)
        assert_clean(stored)
    finally:
        await hook.stop()
        await fake.stop()


async def test_zalo_webhook_body_is_capped_while_reading_even_when_chunked(runtime):
    fake = FakeZalo()
    await fake.start()
    hook = ZaloChannel(runtime, token=TOKEN, base_url=fake.base_url, mode="webhook")
    hook._secret = b"a-long-enough-secret"
    sent = 0

    async def chunks():  # no Content-Length: a chunked body that never stops on its own
        nonlocal sent
        piece = b" " * 65536
        while sent < 60 * 1024 * 1024:
            sent += len(piece)
            yield piece

    transport = httpx.ASGITransport(app=hook.webhook_app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://zalo.test") as http:
            response = await http.post("/zalo/webhook", content=chunks(), headers={
                "X-Bot-Api-Secret-Token": "a-long-enough-secret",
                "content-type": "application/json"})
        assert response.status_code == 413
        assert sent < 4 * 1024 * 1024  # it stopped reading near the cap, not at 60 MB
    finally:
        await hook.stop()
        await fake.stop()


def test_terminal_survives_invalid_utf8_and_controls(tmp_path, cli):
    config = wide_open_config(tmp_path)
    hostile = HOSTILE.encode("utf-8", "surrogatepass")  # the raw bytes ED A0 80: invalid UTF-8
    script = b"/start\n1\nnam tam\n1\n" + hostile.replace(b"\r\n", b" ") + b"\n2\n1\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--config", str(config), "--db",
         str(tmp_path / "t.db")], input=script, capture_output=True, cwd=ROOT, timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    assert b"Traceback" not in done.stderr
    assert "LC27-000001" in done.stdout.decode("utf-8")
    again = cli("chat", "--config", str(config), "--db", str(tmp_path / "t.db"),
                stdin="/cua_toi\n")
    assert "LC27-000001" in again.stdout
