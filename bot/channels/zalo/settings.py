"""[zalo] of config.toml, and the Zalo secrets from the environment (never from the file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...config import ConfigError, Secret

__all__ = ["MODES", "ZaloSettings", "read_settings"]

NO_SECRET = Secret("")  # frozen: one shared empty value is safe

MODES = ("polling", "webhook")


@dataclass(frozen=True)
class ZaloSettings:
    base_url: str = "https://bot-api.zaloplatforms.com/bot"
    token: Secret = NO_SECRET
    mode: str = "polling"  # "webhook" in production; polling is for development
    webhook_secret: Secret = NO_SECRET
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8088
    webhook_path: str = "/zalo/webhook"
    webhook_url: str = ""  # the public https URL Zalo posts to (`python -m bot webhook set`)

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def secrets(self) -> tuple[str, ...]:
        return tuple(s.value for s in (self.token, self.webhook_secret) if s)


def read_settings(r: Any, env: Mapping[str, str]) -> ZaloSettings:
    from ...config import _positive, _url

    mode = r.get("zalo.mode", str, "polling")
    if mode not in MODES:
        raise ConfigError(f'{r.path}: `zalo.mode` must be "polling" or "webhook", got {mode!r}')
    return ZaloSettings(
        base_url=_url(r, "zalo.base_url", ZaloSettings.base_url),
        token=Secret(env.get("ZALO_BOT_TOKEN", "").strip()),
        mode=mode,
        webhook_secret=Secret(env.get("ZALO_WEBHOOK_SECRET", "").strip()),
        webhook_host=r.get("zalo.webhook_host", str, ZaloSettings.webhook_host),
        webhook_port=_positive(r, "zalo.webhook_port", ZaloSettings.webhook_port),
        webhook_path=r.get("zalo.webhook_path", str, ZaloSettings.webhook_path),
        webhook_url=_public_url(r, "zalo.webhook_url"),
    )


def _public_url(r: Any, key: str) -> str:
    value = r.get(key, str, "").strip()
    if value and not value.startswith("https://"):
        raise ConfigError(f'{r.path}: `{key}` must be the public https URL the platform posts '
                          f'to, e.g. "https://bot.example.org/zalo/webhook", got {value!r}')
    return value
