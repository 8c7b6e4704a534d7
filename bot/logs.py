"""Structured logs that carry no secret and no personal data, even with -v.

Two nets:
  - Libraries that log message texts, SQL parameters or request bodies at DEBUG (aiosqlite logs
    every statement with its parameters; python-telegram-bot logs each update and each Bot API
    call with its parameters; httpcore/hpack log request internals) are held at INFO or
    WARNING whatever the verbosity, by logger level, so the record is never even created and
    no handler (ours, pytest's, a future one) can print it.
  - Our handler's filter redacts the configured secret values themselves wherever they appear
    (message, arguments, traceback), whatever their shape, plus anything that looks like a
    Bot API token or sits in a URL after "/bot"; and masks phones, ID numbers and emails.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

from handlers.privacy import mask_pii

__all__ = ["QUIET_LOGGERS", "RedactTokens", "RedactingStream", "redact", "setup_logging"]

# Telegram tokens are "digits:secret"; Zalo tokens are "<bot_id>:<secret>" too.
_TOKEN = re.compile(r"(?<![\w-])(bot)?(\d{3,}|[A-Za-z0-9]{6,}):[A-Za-z0-9_-]{20,}")
# Whatever sits in a Bot API URL path after "/bot" is a token, however short.
_URL_TOKEN = re.compile(r"(/bot)[^/\s?#]+(?=/)")
_MIN_SECRET = 4  # shorter "secrets" would redact ordinary words

# logger -> the lowest level it may log at, with -v or without.
QUIET_LOGGERS = {
    "aiosqlite": logging.WARNING,  # DEBUG: "executing <partial ... (sql, params)>"
    "telegram": logging.INFO,  # DEBUG: "Processing update …", Bot API parameters and results
    "httpx": logging.INFO,  # INFO: request lines (URL only; the token is redacted)
    "httpcore": logging.WARNING,
    "hpack": logging.WARNING,
    "aiohttp": logging.WARNING,
    "uvicorn": logging.INFO,
    "uvicorn.access": logging.WARNING,
    "asyncio": logging.INFO,
}
# Shown from INFO with -v, from WARNING without.
_QUIET_UNLESS_VERBOSE = ("httpx", "apscheduler", "telegram.ext.Updater")


# The configured secret values (and a token's part after "id:"), known once the config is read
# (setup_logging): every redact() call removes them, so an exception's text printed by any
# command (a refused token echoed back by the platform library) never shows one.
_CONFIGURED: tuple[str, ...] = ()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in sorted({*secrets, *_CONFIGURED}, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET:
            text = text.replace(secret, "<token>")
    text = _URL_TOKEN.sub(r"\1<token>", text)
    return _TOKEN.sub(lambda m: (m.group(1) or "") + "<token>", text)


def _secret_parts(secrets: Iterable[str]) -> tuple[str, ...]:
    """Each secret and its part after "id:", which is the secret half of a bot token."""
    parts: set[str] = set()
    for secret in secrets:
        if secret:
            parts.add(secret)
            tail = secret.partition(":")[2]
            if len(tail) >= _MIN_SECRET:
                parts.add(tail)
    return tuple(parts)


class RedactTokens(logging.Filter):
    """Rewrites a record before our handler prints it: secrets out, personal numbers masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = _secret_parts(secrets)

    def clean(self, text: str) -> str:
        return mask_pii(redact(text, self.secrets))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.clean(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
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


def setup_logging(verbose: bool = False, secrets: Iterable[str] = (),
                  stream: TextIO | None = None) -> None:
    """JSON lines on stderr with `secrets` (the configured tokens) redacted. Called again once
    the config is read, to add its secrets; replaces only the handler it installed before."""
    global _CONFIGURED
    secrets = tuple(secrets)
    _CONFIGURED = tuple(sorted({*_CONFIGURED, *_secret_parts(secrets)}))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactTokens(secrets))
    handler.set_name("bot.logs")
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "bot.logs"]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in _QUIET_UNLESS_VERBOSE:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    for name, floor in QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(floor, logger.level or floor))


class RedactingStream:
    """stdout/stderr for the commands: what they print (an exception's text included) goes out
    with the configured secrets redacted, whatever a message's author remembered to do."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> object:  # flush, fileno, isatty, encoding ...
        return getattr(self.stream, name)
