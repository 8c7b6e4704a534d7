"""`python -m bot webhook set|info|delete --channel zalo`: register the webhook with Zalo."""

from __future__ import annotations

from typing import Any

import httpx

from ...config import ConfigError
from .api import ZaloBotApi
from .errors import ZaloNotFound
from .settings import ZaloSettings

__all__ = ["ZaloWebhookAdmin"]


class ZaloWebhookAdmin:
    def __init__(self, settings: ZaloSettings) -> None:
        if not settings.token:
            raise ConfigError("ZALO_BOT_TOKEN is not set in the environment")
        self.settings = settings
        self._http = httpx.AsyncClient()
        self.api = ZaloBotApi(self._http, settings.base_url, settings.token.value)

    async def set(self) -> dict[str, Any]:
        url, secret = self.settings.webhook_url, self.settings.webhook_secret.value
        if not url:
            raise ConfigError('set `[zalo] webhook_url = "https://…"`, the public URL of '
                              f"{self.settings.webhook_path} behind your HTTPS proxy")
        if not 8 <= len(secret) <= 256:
            raise ConfigError("ZALO_WEBHOOK_SECRET (8–256 characters) must be set in the "
                              "environment, the same one the bot runs with")
        result = await self.api.set_webhook(url, secret)
        return {"url": result.get("url", url), "updated_at": result.get("updated_at")}

    async def info(self) -> dict[str, Any]:
        try:
            result = await self.api.get_webhook_info()
        except ZaloNotFound:  # measured: 404 when no webhook is set
            result = {}
        return {"url": result.get("url") or "", "updated_at": result.get("updated_at"),
                "expected_url": self.settings.webhook_url, "mode": self.settings.mode}

    async def delete(self) -> dict[str, Any]:
        await self.api.delete_webhook()
        return {"url": ""}

    async def aclose(self) -> None:
        await self._http.aclose()
