"""The Zalo channel, one module per concern:

    settings.py  [zalo] of config.toml and its secrets from the environment
    errors.py    the error tree of Bot API calls
    api.py       the Bot API client (httpx) and the polling backoff
    updates.py   Zalo JSON → Incoming (pure functions)
    adapter.py   ZaloChannel: webhook server or polling, replies, the outbox sender
    admin.py     `python -m bot webhook set|info|delete --channel zalo`

Names are imported lazily: reading the config must not import httpx or uvicorn.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ZaloSettings": "settings", "read_settings": "settings",
    "ZaloError": "errors", "ZaloBadRequest": "errors", "ZaloAuthError": "errors",
    "ZaloForbidden": "errors", "ZaloNotFound": "errors", "ZaloTimeout": "errors",
    "ZaloRateLimited": "errors", "ZaloNetworkError": "errors",
    "ZaloBotApi": "api", "Backoff": "api",
    "CHANNEL": "updates", "unwrap_update": "updates", "parse_update": "updates",
    "ZaloChannel": "adapter", "MAX_TEXT": "adapter",
    "ZaloWebhookAdmin": "admin",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
