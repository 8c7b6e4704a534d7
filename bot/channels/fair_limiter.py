"""Telegram's send limit (about 30 messages a second), shared fairly when many women write at once.

PTB's AIORateLimiter serves requests first come, first served: after a burst of 1,000 senders a
woman who writes next waits behind every reply already queued. Here the next free slot goes to
the chat that has been sent the fewest messages in the last minute, and among equals to the one
that asked last: a newcomer's first reply goes out in the next slot, while those in the burst
get theirs as it drains. Slots are evenly spaced (no burst: Telegram's sliding window answers a
burst with 429); group chats (negative ids, the staff group) also keep 20 a minute; a 429 pauses
every send for the time Telegram asks, then the request is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

__all__ = ["FairRateLimiter"]

log = logging.getLogger(__name__)

WINDOW = 60.0  # seconds of send history that decide who goes first


class FairRateLimiter(BaseRateLimiter[int]):
    def __init__(self, per_second: float = 29.5, group_per_minute: int = 20,
                 max_retries: int = 3) -> None:
        self._interval = 1 / per_second
        self._group_interval = 60 / group_per_minute
        self._max_retries = max_retries
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._group_next: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._paused_until = 0.0
        self._pump: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        for _, _, turn in self._waiting:
            turn.cancel()
        self._waiting.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat = str(data.get("chat_id", ""))
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await self._group_turn(chat)
            await self._turn(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                seconds = _seconds(exc.retry_after) + 0.1
                log.info("Telegram asked to slow down: all sends paused %.1fs", seconds)
                loop = asyncio.get_running_loop()
                self._paused_until = max(self._paused_until, loop.time() + seconds)
        raise AssertionError("unreachable")

    def recent(self, chat: str, now: float) -> int:
        sent = self._sent.get(chat)
        if not sent:
            return 0
        while sent and now - sent[0] > WINDOW:
            sent.popleft()
        if not sent:
            del self._sent[chat]  # no unbounded growth with many senders
            return 0
        return len(sent)

    async def _turn(self, chat: str) -> None:
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        # Fewest recent sends first; among equals the newest request (adaptive LIFO).
        heapq.heappush(self._waiting, (self.recent(chat, loop.time()), -next(self._order), turn))
        self._sent[chat].append(loop.time())  # counted now: her next request ranks behind
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="telegram-fair-limiter")
        self._wake.set()
        await turn

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_slot = loop.time()
        while True:
            while not self._waiting:
                self._wake.clear()
                await self._wake.wait()
            start = max(next_slot, self._paused_until)
            if start > loop.time():
                await asyncio.sleep(start - loop.time())
            if not self._waiting:
                continue
            _, _, turn = heapq.heappop(self._waiting)
            if turn.cancelled():
                continue
            turn.set_result(None)
            next_slot = max(loop.time(), start) + self._interval

    async def _group_turn(self, chat: str) -> None:
        if not chat.startswith("-") and not chat.startswith("@"):
            return
        loop = asyncio.get_running_loop()
        at = max(self._group_next.get(chat, 0.0), loop.time())
        self._group_next[chat] = at + self._group_interval
        if at > loop.time():
            await asyncio.sleep(at - loop.time())


def _seconds(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
