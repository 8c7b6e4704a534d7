"""Helpers for attacks on a real `python -m bot run` process against the fake Bot API: a staff
group in its config, what a chat was sent, a Telegram that stalls on one message."""

from __future__ import annotations

import asyncio

from tests.fakes.fake_bot_api import FakeBotAPI

DANGER = "Chồng em đang cầm dao đòi giết em, em trốn trong bếp"
WOMAN = 6161


def with_staff_group(config_path) -> None:
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace("staff_ids = []\nstaff_chat_id = 0",
                                        "staff_ids = [900]\nstaff_chat_id = -1001", 1),
                           encoding="utf-8")


def texts(fake: FakeBotAPI, chat) -> list[str]:
    return [m.get("text") or "" for m in fake.sent(chat) if not m.get("edited")]


def stalled_send(fake: FakeBotAPI, chat, word: str):
    """Make the fake Telegram stall on the first sendMessage to `chat` containing `word` (a
    stalled connection); returns (hung, release, stall switch)."""
    hung, release, stall = asyncio.Event(), asyncio.Event(), {"on": True}
    name, real = fake._methods["sendmessage"]

    async def send(params):
        if stall["on"] and str(params.get("chat_id")) == str(chat) \
                and word in str(params.get("text")):
            hung.set()
            await asyncio.wait_for(release.wait(), 30)
            raise _Gone
        return await real(params)

    fake._methods["sendmessage"] = (name, send)
    return hung, release, stall


class _Gone(Exception):
    """The stalled request ends without an answer (its client was killed)."""
