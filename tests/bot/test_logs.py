"""Tokens never appear in a log line, even inside URLs and tracebacks."""

from __future__ import annotations

import io
import logging

from bot.logs import JsonFormatter, RedactTokens, redact

TELEGRAM = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
ZALO = "3958112948194839:AbCdEfGhIjKlMnOpQrStUvWxYz0123"


def test_redact_urls():
    line = f"POST https://api.telegram.org/bot{TELEGRAM}/sendMessage 200"
    assert TELEGRAM not in redact(line) and "/bot<token>/sendMessage" in redact(line)
    assert ZALO not in redact(f"https://bot-api.zaloplatforms.com/bot{ZALO}/getUpdates")


def test_handler_redacts_messages_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactTokens())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        logger.error("request to %s failed", f"https://x/bot{TELEGRAM}/getMe")
        try:
            raise RuntimeError(f"boom at /bot{ZALO}/sendMessage")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert TELEGRAM not in output and ZALO not in output
    assert output.count("<token>") >= 2


def test_short_tokens_in_urls_are_redacted_too():
    line = "POST https://bot-api.zaloplatforms.com/bot12345689:abc-xyz/sendMessage"
    assert "abc-xyz" not in redact(line) and "/bot<token>/sendMessage" in redact(line)
