"""The Zalo Bot API client: POST `{base_url}{token}/{method}` with a JSON body; the body's `ok`
decides success (HTTP 200 alone is not). Nothing here logs a URL or puts one in an exception."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ...logs import redact
from .errors import ZaloError, ZaloNetworkError, error_for

__all__ = ["CALL_TIMEOUT", "POLL_GRACE", "Backoff", "ZaloBotApi"]

POLL_GRACE = 10.0  # seconds the HTTP read may outlast the server-side long poll
CALL_TIMEOUT = 15.0


class ZaloBotApi:
    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._http = http
        self._prefix = base_url.rstrip("/") + token + "/"

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *,
                   timeout: float = CALL_TIMEOUT) -> Any:
        try:
            response = await self._http.post(
                self._prefix + method, json=dict(params or {}),
                timeout=httpx.Timeout(CALL_TIMEOUT, read=timeout),
            )
        except httpx.TransportError as exc:
            # `from None`: the httpx exception carries the request, whose URL holds the token.
            raise ZaloNetworkError(method, _describe(exc)) from None
        except httpx.HTTPError as exc:
            raise ZaloError(method, 0, _describe(exc)) from None
        return _result(method, response)

    async def get_me(self) -> dict[str, Any]:
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: float) -> list[dict[str, Any]]:
        """Zero or one update (a list is accepted too); an idle poll raises `ZaloTimeout`."""
        result = await self.call("getUpdates", {"timeout": _seconds_text(timeout)},
                                 timeout=timeout + POLL_GRACE)
        items = result if isinstance(result, list) else [result]
        return [item for item in items if isinstance(item, dict)]

    async def send_message(self, chat_id: str, text: str) -> Any:
        # No parse_mode: nothing a member typed can break the formatting.
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def set_webhook(self, url: str, secret_token: str) -> dict[str, Any]:
        result = await self.call("setWebhook", {"url": url, "secret_token": secret_token})
        return result if isinstance(result, dict) else {}

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        result = await self.call("getWebhookInfo")
        return result if isinstance(result, dict) else {}


def _result(method: str, response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        status = response.status_code
        raise error_for(method, status, f"unreadable answer (HTTP {status})")
    if response.is_success and body.get("ok") is True:
        return body.get("result")
    code = body.get("error_code")
    if not isinstance(code, int) or isinstance(code, bool):
        code = response.status_code if not response.is_success else 0
    description = body.get("description")
    raise error_for(method, code, description if isinstance(description, str) else "")


def _describe(exc: Exception) -> str:
    text = str(exc)
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _seconds_text(seconds: float) -> str:
    """The API wants the poll timeout as a string of seconds: 30 → "30"."""
    return f"{seconds:g}"


@dataclass(frozen=True)
class Backoff:
    """Exponential waits after errors: first, 2×first, 4×first … up to cap."""

    first: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.first * 2 ** max(failures - 1, 0))
