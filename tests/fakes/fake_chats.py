"""The fake Bot API plus the methods `doctor` asks: getChat and getWebhookInfo.

Telegram answers getChat only for chats the bot is in ("Bad Request: chat not found"
otherwise); `member_of` holds those. Kept apart from fake_bot_api.py so the fake's method table
stays one list owned by the channel tests.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .fake_bot_api import FakeBotAPI, _ApiError, _chat_id_of

JSON = dict[str, Any]


class FakeBotAPIWithChats(FakeBotAPI):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.member_of: dict[str, JSON] = {}
        self.webhook: JSON = {"url": "", "has_custom_certificate": False,
                              "pending_update_count": 0}
        super().__init__(*args, **kwargs)

    def _method_table(self):
        return super()._method_table() | {"getChat": self._get_chat,
                                          "getWebhookInfo": self._get_webhook_info}

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self.member_of.get(str(_chat_id_of(params)))
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        return chat

    async def _get_webhook_info(self, params: JSON) -> JSON:
        return self.webhook


@contextmanager
def fake_in_thread(token: str = "123456:TEST") -> Iterator[FakeBotAPIWithChats]:
    """The fake on its own loop in a thread, for code under test that runs asyncio.run()."""
    fake = FakeBotAPIWithChats(token=token)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
