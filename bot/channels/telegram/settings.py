"""[telegram] of config.toml, and the Telegram secrets from the environment (never the file)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...config import ConfigError, Secret

__all__ = ["MODES", "TelegramSettings", "check_webhook_secret", "read_settings"]

NO_SECRET = Secret("")  # frozen: one shared empty value is safe

MODES = ("polling", "webhook")
# What Telegram accepts as setWebhook's secret_token (Bot API docs).
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


@dataclass(frozen=True)
class TelegramSettings:
    base_url: str = "https://api.telegram.org/bot"
    token: Secret = NO_SECRET
    mode: str = "polling"  # "webhook" in production; polling for development and small installs
    webhook_secret: Secret = NO_SECRET
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8089
    webhook_path: str = "/telegram/webhook"
    webhook_url: str = ""  # the public https URL Telegram posts to (`python -m bot webhook set`)

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def secrets(self) -> tuple[str, ...]:
        return tuple(s.value for s in (self.token, self.webhook_secret) if s)


def check_webhook_secret(settings: TelegramSettings) -> None:
    """Webhook mode without a proper secret would take updates from anyone: refuse."""
    if not _SECRET.match(settings.webhook_secret.value):
        raise ConfigError(
            'telegram.mode = "webhook" needs TELEGRAM_WEBHOOK_SECRET in the environment: '
            "16–256 characters from A–Z, a–z, 0–9, _ and -, the same secret_token given to "
            "setWebhook (python -m bot webhook set); the Telegram channel is not started "
            "without it"
        )


def read_settings(r: Any, env: Mapping[str, str]) -> TelegramSettings:
    from ...config import _positive, _url
    from ..zalo.settings import _public_url

    mode = r.get("telegram.mode", str, "polling")
    if mode not in MODES:
        raise ConfigError(f'{r.path}: `telegram.mode` must be "polling" or "webhook", '
                          f"got {mode!r}")
    return TelegramSettings(
        base_url=_url(r, "telegram.base_url", TelegramSettings.base_url),
        token=Secret(env.get("TELEGRAM_BOT_TOKEN", "").strip()),
        mode=mode,
        webhook_secret=Secret(env.get("TELEGRAM_WEBHOOK_SECRET", "").strip()),
        webhook_host=r.get("telegram.webhook_host", str, TelegramSettings.webhook_host),
        webhook_port=_positive(r, "telegram.webhook_port", TelegramSettings.webhook_port),
        webhook_path=r.get("telegram.webhook_path", str, TelegramSettings.webhook_path),
        webhook_url=_public_url(r, "telegram.webhook_url"),
    )
