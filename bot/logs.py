"""Structured logs with every bot token redacted.

Tokens sit in Bot API URL paths (`/bot123:ABC/sendMessage`), which httpx logs at INFO; the filter
rewrites any record that contains one before a handler sees it.
"""

from __future__ import annotations

import json
import logging
import re
import sys

__all__ = ["RedactTokens", "redact", "setup_logging"]

# Telegram tokens are "digits:secret"; Zalo tokens are "<bot_id>:<secret>" too.
_TOKEN = re.compile(r"(?<![\w-])(bot)?(\d{3,}|[A-Za-z0-9]{6,}):[A-Za-z0-9_-]{20,}")
# Whatever sits in a Bot API URL path after "/bot" is a token, however short.
_URL_TOKEN = re.compile(r"(/bot)[^/\s?#]+(?=/)")


def redact(text: str) -> str:
    text = _URL_TOKEN.sub(r"\1<token>", text)
    return _TOKEN.sub(lambda m: (m.group(1) or "") + "<token>", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        elif record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(verbose: bool = False) -> None:
    """JSON lines on stderr; httpx request lines only in verbose mode."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
