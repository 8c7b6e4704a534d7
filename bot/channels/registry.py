"""Every channel the bot knows, in one place: config, `run`, the scheduler and `webhook` loop
over `CHANNELS` and never name a platform. Adding a channel is adding one entry here
(docs/channels.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import Channel, ChannelSettings, ChannelSpec, WebhookAdmin
from .telegram import settings as telegram_settings  # light: no SDK behind them
from .zalo import settings as zalo_settings

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["CHANNELS", "NAMES", "spec"]


def _telegram_settings(r: Any, env: Mapping[str, str]) -> ChannelSettings:
    return telegram_settings.read_settings(r, env)


def _telegram(runtime: Runtime) -> Channel:
    from .telegram.adapter import TelegramChannel

    return TelegramChannel(runtime)


def _telegram_admin(settings: ChannelSettings) -> WebhookAdmin:
    from .telegram.admin import TelegramWebhookAdmin

    return TelegramWebhookAdmin(settings)  # type: ignore[arg-type]


def _zalo_settings(r: Any, env: Mapping[str, str]) -> ChannelSettings:
    return zalo_settings.read_settings(r, env)


def _zalo(runtime: Runtime) -> Channel:
    from .zalo.adapter import ZaloChannel

    return ZaloChannel(runtime)


def _zalo_admin(settings: ChannelSettings) -> WebhookAdmin:
    from .zalo.admin import ZaloWebhookAdmin

    return ZaloWebhookAdmin(settings)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TerminalSettings:
    """The terminal has no token and no section of its own beyond staff ids."""

    @property
    def enabled(self) -> bool:
        return False  # `python -m bot chat` runs it, never `run`

    def secrets(self) -> tuple[str, ...]:
        return ()


CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("telegram", _telegram_settings, _telegram, _telegram_admin,
                env_token="TELEGRAM_BOT_TOKEN", sends_documents=True),
    ChannelSpec("zalo", _zalo_settings, _zalo, _zalo_admin, env_token="ZALO_BOT_TOKEN"),
    ChannelSpec("terminal", lambda r, env: TerminalSettings()),
)
NAMES: tuple[str, ...] = tuple(s.name for s in CHANNELS)


def spec(name: str) -> ChannelSpec:
    for candidate in CHANNELS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
