"""How the Telegram channel talks HTTP: PTB's request interface on aiohttp.

PTB's default transport (httpx) costs 1–3 ms of CPU per Bot API call once many replies are in
flight, more than everything else the bot does for a message; aiohttp costs about 0.25 ms
(docs/benchmarks.md). Every message a woman sends needs one call, so this is what decides how
many women one core can serve. PTB documents `BaseRequest` for swapping the transport; this
follows PTB's own `HTTPXRequest` for timeouts and errors so the rest of PTB cannot tell.
"""

from __future__ import annotations

from typing import Any

import aiohttp

# PTB's own name for "a value, or the default the request was built with" (BaseRequest uses it).
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]


class AiohttpRequest(BaseRequest):
    """A pool of `pool_size` keep-alive connections; timeouts in seconds, as PTB's are."""

    __slots__ = ("_pool_size", "_session", "_timeouts")

    def __init__(self, *, pool_size: int = 1, read_timeout: float = 5.0,
                 write_timeout: float = 5.0, connect_timeout: float = 5.0,
                 pool_timeout: float = 1.0, media_write_timeout: float = 20.0) -> None:
        self._pool_size = pool_size
        self._timeouts = {"read": read_timeout, "write": write_timeout,
                          "connect": connect_timeout, "pool": pool_timeout,
                          "media_write": media_write_timeout}
        # Made in initialize(): an aiohttp session belongs to the event loop it was made in.
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        has_files = bool(request_data and request_data.contains_files)
        read = self._given(read_timeout, "read")
        write = self._given(write_timeout, "media_write" if has_files else "write")
        connect = self._given(connect_timeout, "connect")
        pool = self._given(pool_timeout, "pool")
        # aiohttp has no write timeout; the total bounds a stalled upload instead.
        parts = (read, write, connect, pool)
        total = None if None in parts else sum(parts)  # type: ignore[arg-type]
        timeout = aiohttp.ClientTimeout(
            total=total, connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, timeout=timeout,
                                             **_body(request_data)) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # The class name says what failed when the message is empty (as PTB's own).
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _given(self, value: object, default: str) -> float | None:
        if isinstance(value, type(BaseRequest.DEFAULT_NONE)):
            return self._timeouts[default]
        return value  # type: ignore[return-value]


def _body(request_data: RequestData | None) -> dict[str, Any]:
    """JSON, which the Bot API accepts and costs less to encode than a form of Vietnamese text;
    multipart when a file goes along, as PTB's own transport does."""
    if request_data is None:
        return {}
    if not request_data.contains_files:
        return {"json": request_data.parameters}
    form = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return {"data": form}
