"""Fetching a file a member sent (a voice message) from the Bot API: getFile, then the download.

Used by the console (bot/web/files.py), which may run in its own process without the channel:
plain aiohttp, no PTB application. Errors never carry the URL, which holds the token.
"""

from __future__ import annotations

import aiohttp

from .settings import TelegramSettings

__all__ = ["FILE_PREFIX", "FileUnavailable", "download", "file_url"]

# How the channel stores a voice message's link (adapter._content): the Bot API file_id.
FILE_PREFIX = "telegram-file:"
TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10)


class FileUnavailable(Exception):
    """Telegram did not give the file (gone, too big, unreachable, no token)."""


def file_url(base: str) -> str:
    """Where the Bot API serves downloads, from its method URL (".../bot" → ".../file/bot")."""
    return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file"


async def download(settings: TelegramSettings, file_id: str, limit: int) -> bytes:
    """The file's bytes, at most `limit` of them (more: FileUnavailable)."""
    token = settings.token.value
    if not token:
        raise FileUnavailable("no Telegram token")
    base = settings.base_url.rstrip("/")
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            async with http.get(f"{base}{token}/getFile", params={"file_id": file_id}) as answer:
                body = await answer.json(content_type=None)
            path = (body.get("result") or {}).get("file_path") if body.get("ok") else None
            if not path:
                raise FileUnavailable(f"getFile refused ({answer.status})")
            async with http.get(f"{file_url(base)}{token}/{path}") as answer:
                if answer.status != 200:
                    raise FileUnavailable(f"download refused ({answer.status})")
                content = await answer.content.read(limit + 1)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise FileUnavailable(type(exc).__name__) from None
    if len(content) > limit:
        raise FileUnavailable("file too big")
    return content
