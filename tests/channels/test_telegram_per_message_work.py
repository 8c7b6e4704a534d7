"""Work the bot did again on every message although its result never changes: each test counts
one such piece, through the real Telegram path, while a second member goes through the same
steps as the first (bench/throughput.py: a thousand members, seven messages each)."""

from __future__ import annotations

import pytest

from handlers import menus
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.telegram_chat import QUESTION, send, start_channel, text_of

STEPS = ("/start", "1", "nam tam", "1", QUESTION, "2", "1")
# The first member's own concern, so the second is not offered to support it: the same menus.
OTHER = ("/start", "1", "nam tam", "2", "Rác thải ở suối bản em không ai thu gom ạ", "2", "1")


async def _ask(fake: FakeBotAPI, chat: int, steps: tuple[str, ...] = STEPS) -> str:
    said = ""
    for line in steps:
        said = text_of(await send(fake, chat, line))
    return said


async def test_menu_labels_are_folded_once_not_on_every_message(
        runtime, fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch):
    """Each menu she is shown is stored folded ("Xã Nậm Tăm" → "xa nam tam") so that typing
    "nam tam" finds it; the labels come from the locale and config and fold the same every
    time. Only what she typed is folded for the second member."""
    folded: list[str] = []
    fold = menus.fold

    def counted(text: str) -> str:
        folded.append(text)
        return fold(text)

    monkeypatch.setattr(menus, "fold", counted)
    menus._folded_label.cache_clear()  # as in a new process: earlier tests' menus forgotten
    menus._label_words.cache_clear()
    channel = await start_channel(runtime, fake)
    try:
        assert "LC27-000001" in await _ask(fake, 801, OTHER)
        first = len(folded)
        folded.clear()
        said = await _ask(fake, 802)
    finally:
        await channel.stop()
    assert "LC27-000002" in said  # the same steps, the same menus, her own receipt
    assert first > 20  # the labels of the menus the first member saw, and her lines
    # Before: the same labels again (about 25), and each typed line twice.
    assert sorted(folded) == sorted(line for line in STEPS if not line.startswith("/"))
