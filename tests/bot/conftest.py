"""Tests here call `bot.cli.main` in-process, which installs the bot's log handler on the root
logger (setup_logging). Its filter rewrites records (tracebacks redacted into text), so left in
place it would change what later tests' caplog sees: put logging back as it was."""

from __future__ import annotations

import logging

import pytest

from bot.logs import QUIET_LOGGERS


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    names = (*QUIET_LOGGERS, "httpx", "apscheduler", "telegram.ext.Updater")
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)
