"""Attack: turn every log on (root at DEBUG, the CLI with -v) and search every record for a
woman's question text, her name and her phone; put odd-shaped tokens in tracebacks and in a
failed delivery and look for them in the log and in `outbox.last_error`."""

from __future__ import annotations

import io
import logging

import pytest

from bot.channels.telegram import TelegramChannel
from bot.logs import QUIET_LOGGERS, setup_logging
from bot.outbox import OutboxWorker, Undeliverable
from storage import queries as q
from tests.channels.conftest import fake  # noqa: F401  (the fake Bot API fixture)
from tests.fakes.cli import real_process, wide_open_config
from tests.fakes.offers import ask, chat
from tests.fakes.telegram_chat import send

PHONE = "0912345678"
NAME = "Sùng Thị Pà"
WORDS = "chăn nuôi dê núi"
QUESTION = f"Em tên {NAME}, số {PHONE}, muốn vay vốn {WORDS} ở bản thì làm thế nào ạ"
SECRETS = ("42:shortsecret", "shortsecret")


@pytest.fixture(autouse=True)
def restore_logging():
    """setup_logging changes process-wide logging: put it back for the other tests."""
    root = logging.getLogger()
    names = [*QUIET_LOGGERS, "httpx", "apscheduler", "telegram.ext.Updater"]
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in names})
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def everything(records: list[logging.LogRecord]) -> str:
    """Each record as any handler could print it: message, args, traceback."""
    formatter = logging.Formatter()
    out = []
    for record in records:
        out.append(record.getMessage())
        out.append(repr(record.args))
        if record.exc_info:
            out.append(formatter.formatException(record.exc_info))
        if record.exc_text:
            out.append(record.exc_text)
    return "\n".join(out)


def assert_clean(text: str) -> None:
    for needle in (PHONE, NAME, WORDS, "912345678", "0912 345 678"):
        assert needle not in text, f"{needle!r} logged"


class Everything(logging.Handler):
    """Keeps every record that reaches the root logger, at any level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_flows_at_debug_log_no_text_name_or_phone(staff_runtime, caplog, fake):  # noqa: F811
    setup_logging(verbose=True)  # what `-v` does; then catch every record of every logger
    caplog.set_level(logging.DEBUG)
    catch = Everything()
    logging.getLogger().addHandler(catch)
    try:
        await chat(staff_runtime, "a", ask(QUESTION, "1", "gui"))
        channel = TelegramChannel(staff_runtime, token=fake.token, base_url=fake.base_url)
        await channel.start(poll_timeout=1)
        try:
            for line in ("/start", "1", "nam tam", "1", QUESTION, "1", "gui"):
                await send(fake, 701, line)
        finally:
            await channel.stop()
    finally:
        logging.getLogger().removeHandler(catch)
    assert catch.records  # logging was on
    assert_clean(everything(catch.records + caplog.records))


def test_cli_chat_with_v_logs_no_text_name_or_phone(tmp_path):
    config = wide_open_config(tmp_path)
    script = "\n".join(["/start", "1", "nam tam", "1", QUESTION, "1", "1", "/cua_toi"]) + "\n"
    result = real_process("chat", "-v", "--config", str(config), "--db", str(tmp_path / "v.db"),
                 stdin=script)
    assert result.returncode == 0, result.stderr
    assert "[SĐT ẩn" not in result.stderr and "DEBUG" in result.stderr  # debug was on
    assert_clean(result.stderr)


def test_configured_token_of_any_shape_is_redacted_in_tracebacks():
    stream = io.StringIO()
    setup_logging(verbose=True, secrets=SECRETS[:1], stream=stream)
    log = logging.getLogger("test.token")
    try:
        raise RuntimeError("request with token 42:shortsecret refused")
    except RuntimeError:
        log.exception("delivery failed for %s", "42:shortsecret")
    log.info("phone %s in our own line", PHONE)
    output = stream.getvalue()
    assert "shortsecret" not in output and "<token>" in output
    assert PHONE not in output  # phones are masked in every line, as a last net


async def test_last_error_is_a_short_reason_without_token_or_personal_data(staff_runtime):
    db = staff_runtime.db
    async with db.transaction() as conn:
        await q.enqueue(conn, "telegram", "701", QUESTION, "test", now=db.clock())
        await q.enqueue(conn, "telegram", "702", QUESTION, "test", now=db.clock())

    async def send_text(chat_id: str, text: str) -> None:
        if chat_id == "701":
            raise RuntimeError(f"POST https://x/bot42:shortsecret/sendMessage text={text!r}")
        raise Undeliverable(f"chat {chat_id}: {text} (42:shortsecret)")

    worker = OutboxWorker(db, "telegram", send_text, per_chat_seconds=0)
    await worker.drain_once()
    async with db.transaction() as conn:
        errors = [r["last_error"] for r in await conn.execute_fetchall(
            "SELECT last_error FROM outbox ORDER BY id")]
    assert errors == ["RuntimeError", "Undeliverable"]  # no token, no text, no phone


def test_the_cli_redacts_the_token_from_the_environment(tmp_path, monkeypatch, capsys):
    """`python -m bot …` reads TELEGRAM_BOT_TOKEN, then its log never shows that value."""
    from bot.cli import main

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", SECRETS[0])
    config = wide_open_config(tmp_path)
    assert main(["migrate", "--db", str(tmp_path / "m.db"), "--config", str(config)]) == 0
    try:
        raise ConnectionError(f"cannot reach host with {SECRETS[0]}")
    except ConnectionError:
        logging.getLogger("bot.test").exception("token %s failed", SECRETS[0])
    err = capsys.readouterr().err
    assert "<token>" in err and "shortsecret" not in err
