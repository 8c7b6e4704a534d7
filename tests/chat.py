"""A test helper: talk to the dispatcher the way a channel does, and read what comes back."""

from __future__ import annotations

import itertools

from handlers.types import Incoming, Kind, Reply

_keys = itertools.count(1)


class Member:
    """One person on one channel. `send` types a line; `press` presses a button by its label."""

    def __init__(self, runtime, user: str = "lan", channel: str = "terminal") -> None:
        self.runtime = runtime
        self.user = user
        self.channel = channel
        self.replies: list[Reply] = []

    async def send(self, text: str, **extra) -> list[Reply]:
        return await self._handle(Incoming(channel=self.channel, chat_id=self.user,
                                           user_id=self.user, text=text, display_name="Lan",
                                           update_key=str(next(_keys)), **extra))

    async def press(self, label_part: str) -> list[Reply]:
        option = next(o for o in self.last.options if label_part.lower() in o.label.lower())
        return await self.action(option.action)

    async def action(self, data: str) -> list[Reply]:
        return await self._handle(Incoming(channel=self.channel, chat_id=self.user,
                                           user_id=self.user, kind=Kind.ACTION, action=data,
                                           update_key=str(next(_keys))))

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        self.replies = await self.runtime.dispatcher.handle(incoming)
        await self.runtime.dispatcher.delivered(self.replies)  # as a channel does once sent
        return self.replies

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    def labels(self) -> list[str]:
        return [o.label for o in self.last.options]
