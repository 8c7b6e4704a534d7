"""Talking to the real Telegram channel through the fake Bot API: send a line, press a button,
read what the bot answered."""

from __future__ import annotations

import asyncio

from bot.channels.telegram import TelegramChannel
from tests.fakes.fake_bot_api import FakeBotAPI


async def start_channel(runtime, fake: FakeBotAPI) -> TelegramChannel:
    channel = TelegramChannel(runtime, token=fake.token, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    return channel


def messages(fake: FakeBotAPI, chat: int) -> list[dict]:
    return [m for m in fake.sent(chat) if not m.get("edited")]


async def settle(fake: FakeBotAPI, chat: int, before: int, timeout: float = 5.0) -> list[dict]:
    """Wait for the bot's answer to one update: new messages, then a short quiet spell."""
    await fake.wait_for(lambda f: len(messages(f, chat)) > before, timeout,
                        what=f"a reply in chat {chat}")
    seen = -1
    while seen != len(messages(fake, chat)):
        seen = len(messages(fake, chat))
        await asyncio.sleep(0.15)
    return messages(fake, chat)[before:]


async def send(fake: FakeBotAPI, chat: int, text: str) -> list[dict]:
    before = len(messages(fake, chat))
    fake.push_message(chat, text)
    return await settle(fake, chat, before)


async def press(fake: FakeBotAPI, chat: int, label: str) -> list[dict]:
    """Press the button whose text contains `label` on the bot's latest keyboard."""
    keyboard = next(m["reply_markup"] for m in reversed(messages(fake, chat))
                    if m.get("reply_markup"))
    data = next(b["callback_data"] for row in keyboard["inline_keyboard"] for b in row
                if label.lower() in b["text"].lower())
    before = len(messages(fake, chat))
    fake.push_callback(chat, data)
    return await settle(fake, chat, before)


def text_of(replies: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in replies)


QUESTION = "Chị em bản em muốn vay vốn chăn nuôi bò sinh sản thì làm thủ tục thế nào ạ?"
