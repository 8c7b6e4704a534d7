"""What every webhook server here shares: an embedded uvicorn, a capped body read, and the
secret header compared in constant time. Used by the Telegram and Zalo adapters."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.requests import Request

__all__ = ["MAX_BODY", "WebhookServer", "read_capped", "secret_ok", "too_long", "webhook_path"]

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The service owns SIGINT/SIGTERM and stops every channel; uvicorn must not take them.
        yield


class WebhookServer:
    """One ASGI app on host:port inside the bot's event loop."""

    def __init__(self, app: Any, host: str, port: int, name: str) -> None:
        self.name = name
        self._server = _EmbeddedServer(uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
            timeout_graceful_shutdown=3,
        ))
        self._host, self._port = host, port
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(), name=f"{self.name}-webhook")
        while not self._server.started:
            if self._task.done():
                with contextlib.suppress(BaseException):
                    self._task.result()  # uvicorn exits via SystemExit on bind errors
                raise OSError(f"{self.name} webhook could not listen on "
                              f"{self._host}:{self._port}")
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int | None:
        """The port it listens on (useful when configured as 0); None when not listening."""
        if self._task is None or not self._server.servers:
            return None
        return self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self, grace: float = 5.0) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._task = None


async def read_capped(request: Request, cap: int = MAX_BODY) -> bytes | None:
    """The body, or None as soon as it passes `cap` bytes (whatever Content-Length said)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def too_long(content_length: str | None, cap: int = MAX_BODY) -> bool:
    try:
        return int(content_length or 0) > cap
    except ValueError:
        return False


def secret_ok(header: str | None, secret: bytes) -> bool:
    """The platform's secret header equals ours, compared in constant time."""
    if header is None or not secret:
        return False
    # Starlette decodes headers as latin-1; re-encoding gives the bytes the platform sent.
    return hmac.compare_digest(header.encode("latin-1", "replace"), secret)


def webhook_path(path: str) -> str:
    return path if path.startswith("/") else "/" + path
