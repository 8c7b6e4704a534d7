"""The fake Bot API on loopback, shared by the Telegram channel tests (Zalo has its own)."""

from __future__ import annotations

import pytest

from tests.fakes.fake_bot_api import FakeBotAPI


@pytest.fixture
async def fake():
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()
