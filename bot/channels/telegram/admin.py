"""`python -m bot webhook set|info|delete --channel telegram`: register the webhook with
Telegram through PTB, so nobody calls the Bot API by hand (or pastes the token in a URL)."""

from __future__ import annotations

from typing import Any

from telegram import Bot

from ...config import ConfigError
from .adapter import ALLOWED_UPDATES
from .http import AiohttpRequest
from .settings import TelegramSettings, check_webhook_secret

__all__ = ["TelegramWebhookAdmin"]


class TelegramWebhookAdmin:
    def __init__(self, settings: TelegramSettings) -> None:
        if not settings.token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set in the environment")
        self.settings = settings
        self.bot = Bot(settings.token.value, base_url=settings.base_url,
                       request=AiohttpRequest(), get_updates_request=AiohttpRequest())

    async def set(self) -> dict[str, Any]:
        if not self.settings.webhook_url:
            raise ConfigError('set `[telegram] webhook_url = "https://…"`, the public URL of '
                              f"{self.settings.webhook_path} behind your HTTPS proxy")
        check_webhook_secret(self.settings)
        async with self.bot:
            await self.bot.set_webhook(
                self.settings.webhook_url, secret_token=self.settings.webhook_secret.value,
                allowed_updates=list(ALLOWED_UPDATES), drop_pending_updates=False)
        return await self.info()

    async def info(self) -> dict[str, Any]:
        async with self.bot:
            info = await self.bot.get_webhook_info()
        return {"url": info.url, "expected_url": self.settings.webhook_url,
                "mode": self.settings.mode, "pending_update_count": info.pending_update_count,
                "last_error_date": info.last_error_date.isoformat()
                if info.last_error_date else None,
                "last_error_message": info.last_error_message or None}

    async def delete(self) -> dict[str, Any]:
        # Pending updates are kept: polling (or the next webhook) still gets them.
        async with self.bot:
            await self.bot.delete_webhook(drop_pending_updates=False)
        return {"url": ""}

    async def aclose(self) -> None:
        """Each call opens and closes its own session (`async with self.bot`)."""
