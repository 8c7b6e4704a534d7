"""Fetching a voice message a member sent on Zalo, for the console (bot/web/files.py).

Zalo gives a voice message as a link to its own servers (`voice_url`, an .aac file; see
shared/ZALO_BOT_API.md), stored as it came. The console fetches it once and keeps it on the
union's server, as it does for Telegram. Only https links are followed, or links on the Bot
API's own address (`[zalo] base_url`, which tests point at a fake): a stored link is data a
member's update carried, and must not make the console fetch from the union's internal network.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from .settings import ZaloSettings

__all__ = ["VoiceUnavailable", "download", "is_voice_link"]

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# What a Zalo voice link may serve, by its extension when the server does not say.
TYPES = {".aac": "audio/aac", ".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
         ".amr": "audio/amr", ".wav": "audio/wav"}
DEFAULT_TYPE = "audio/aac"


class VoiceUnavailable(Exception):
    """Zalo did not give the file (gone, too big, unreachable, not an allowed link)."""


def is_voice_link(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _allowed(settings: ZaloSettings, url: str) -> bool:
    link, api = urlsplit(url), urlsplit(settings.base_url)
    return link.scheme == "https" or (link.scheme, link.netloc) == (api.scheme, api.netloc)


async def download(settings: ZaloSettings, url: str, limit: int) -> tuple[bytes, str]:
    """The file's bytes (at most `limit`) and its audio type. Errors never carry the URL."""
    if not _allowed(settings, url):
        raise VoiceUnavailable("not an https link")
    try:
        async with (httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http,
                    http.stream("GET", url) as answer):
            if answer.status_code != 200:
                raise VoiceUnavailable(f"download refused ({answer.status_code})")
            content = b""
            async for chunk in answer.aiter_bytes():
                content += chunk
                if len(content) > limit:
                    raise VoiceUnavailable("file too big")
            declared = answer.headers.get("content-type", "").split(";")[0].strip()
    except httpx.HTTPError as exc:
        raise VoiceUnavailable(type(exc).__name__) from None
    return content, _audio_type(declared, url)


def _audio_type(declared: str, url: str) -> str:
    if declared.startswith("audio/"):
        return declared
    path = urlsplit(url).path.lower()
    return next((t for ext, t in TYPES.items() if path.endswith(ext)), DEFAULT_TYPE)
