"""The Telegram channel (python-telegram-bot 22):

    settings.py  [telegram] of config.toml and its secrets from the environment
    http.py      PTB's request interface on aiohttp (the transport)
    adapter.py   TelegramChannel: polling or webhook, inline keyboards, the outbox sender
    files.py     a file a member sent (voice), fetched from the Bot API for the console
    admin.py     `python -m bot webhook set|info|delete --channel telegram`

Names are imported lazily: reading the config must not import python-telegram-bot.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "TelegramSettings": "settings", "read_settings": "settings",
    "AiohttpRequest": "http",
    "TelegramChannel": "adapter", "MAX_TEXT": "adapter", "CHANNEL": "adapter",
    "TelegramWebhookAdmin": "admin",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
