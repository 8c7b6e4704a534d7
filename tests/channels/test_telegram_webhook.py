"""Telegram in webhook mode, end to end: the real PTB Application behind our webhook server,
the fake Bot API registering the webhook (`python -m bot webhook set`'s admin) and posting each
update to it as Telegram does, replies seen by the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram.admin import TelegramWebhookAdmin
from bot.config import ConfigError, Secret
from tests.fakes.fake_bot_api import FakeBotAPI

SECRET = "webhook-secret_0123456789"


async def _rows(runtime, table: str) -> int:
    async with runtime.db.transaction() as conn:
        (count,) = await (await conn.execute(f"SELECT COUNT(*) FROM {table}")).fetchone()
    return count


@pytest.fixture
async def hooked(runtime, fake: FakeBotAPI, config) -> AsyncIterator[TelegramChannel]:
    """A webhook-mode channel listening on a free port, registered with the fake."""
    runtime.config = config.with_channel("telegram", mode="webhook", webhook_port=0,
                                         webhook_secret=Secret(SECRET), token=Secret(fake.token),
                                         base_url=fake.base_url)
    channel = TelegramChannel(runtime, rate_limit=False)
    await channel.start()
    url = f"http://127.0.0.1:{channel.webhook_port}/telegram/webhook"
    admin = TelegramWebhookAdmin(runtime.config.with_channel("telegram", webhook_url=url)
                                 .channel("telegram"))
    info = await admin.set()
    assert info["url"] == url and fake.webhook["secret_token"] == SECRET
    yield channel
    await channel.stop()


async def test_webhook_mode_answers_what_telegram_posts(hooked, fake):
    fake.push_message(42, "/start")
    sent = await fake.wait_sent(42, 1, timeout=10)
    assert "hệ thống tự động" in sent[0]["text"]
    assert not any(method == "getUpdates" for method, _ in fake.calls)  # no polling at all
    assert not any(method == "deleteWebhook" for method, _ in fake.calls)


async def test_a_wrong_or_missing_secret_gets_403_and_nothing_is_stored(hooked, fake, runtime):
    update = {"update_id": 777, "message": {
        "message_id": 1, "date": 1, "chat": {"id": 55, "type": "private"},
        "from": {"id": 55, "is_bot": False, "first_name": "Lan"}, "text": "/start"}}
    url = f"http://127.0.0.1:{hooked.webhook_port}/telegram/webhook"
    async with httpx.AsyncClient() as http:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong-secret_0123456789"},
                        {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}, {}):
            response = await http.post(url, json=update, headers=headers)
            assert response.status_code == 403
        bad = await http.post(url, content=b"{not json",
                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert bad.status_code == 400
    assert fake.sent(55) == []
    assert await _rows(runtime, "processed_updates") == 0
    assert await _rows(runtime, "users") == 0


async def test_a_redelivered_update_is_handled_once(hooked, fake, runtime):
    update = fake.push_message(43, "/start")
    await fake.wait_sent(43, 1, timeout=10)
    fake.push_raw(dict(update))  # Telegram sends the same update again
    await fake.wait_for(lambda f: [s for u, s in f.webhook_posts if u == update["update_id"]]
                        == [200, 200], 10, what="the redelivery answered 200")
    fake.push_message(43, "/help")  # and she goes on: her replies come in order per chat
    await fake.wait_for(lambda f: any("Hướng dẫn" in m["text"] for m in f.sent(43)), 10,
                        what="the help text")
    texts = [m["text"] for m in fake.sent(43)]
    before_help = texts[:next(i for i, t in enumerate(texts) if "Hướng dẫn" in t)]
    assert len(before_help) == 1, before_help  # the redelivery got no second welcome
    assert await _rows(runtime, "processed_updates") == 2


async def test_an_update_not_settled_is_not_confirmed_and_comes_again(hooked, fake, runtime):
    """The database refuses the first try and her reply cannot be sent either: Telegram gets
    no 200, sends again, and the second try is handled."""
    failures = {"left": 1}
    handle = runtime.dispatcher._handle

    async def flaky(incoming):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("disk went away")
        return await handle(incoming)

    runtime.dispatcher._handle = flaky
    update = fake.push_message(44, "/start")
    await fake.wait_for(lambda f: any(u == update["update_id"] and s == 200
                                      for u, s in f.webhook_posts), 10, what="a 200 at last")
    statuses = [s for u, s in fake.webhook_posts if u == update["update_id"]]
    assert statuses[0] != 200 and statuses[-1] == 200
    texts = [m["text"] for m in fake.sent(44)]
    assert any("hệ thống tự động" in t for t in texts)


async def test_webhook_mode_refuses_to_start_without_a_proper_secret(runtime, fake, config):
    for secret in ("", "short", "has spaces in it, not allowed"):
        runtime.config = config.with_channel("telegram", mode="webhook", webhook_port=0,
                                             webhook_secret=Secret(secret))
        channel = TelegramChannel(runtime, token=fake.token, base_url=fake.base_url)
        with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
            await channel.start()
    assert fake.calls == []


async def test_webhook_info_and_delete_through_the_admin(runtime, fake, config):
    settings = config.with_channel("telegram", token=Secret(fake.token), base_url=fake.base_url,
                                   webhook_url="https://127.0.0.1:9/telegram/webhook",
                                   webhook_secret=Secret(SECRET)).channel("telegram")
    admin = TelegramWebhookAdmin(settings)
    assert (await admin.info())["url"] == ""
    await admin.set()
    info = await admin.info()
    assert info["url"] == info["expected_url"] == "https://127.0.0.1:9/telegram/webhook"
    assert SECRET not in repr(info) and fake.token not in repr(info)
    await admin.delete()
    assert (await admin.info())["url"] == "" and fake.webhook == {}


def test_webhook_command_without_a_token_says_so(monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("ZALO_BOT_TOKEN", raising=False)
    assert main(["webhook", "info"]) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
    assert main(["webhook", "set", "--channel", "telegram"]) == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in capsys.readouterr().err


async def test_an_update_redelivered_after_a_restart_is_handled_once(runtime, fake, config):
    """The in-memory memory of handled updates dies with the process; the database's does not."""
    runtime.config = config.with_channel("telegram", mode="webhook", webhook_port=0,
                                         webhook_secret=Secret(SECRET), token=Secret(fake.token),
                                         base_url=fake.base_url)

    async def serve() -> TelegramChannel:
        channel = TelegramChannel(runtime, rate_limit=False)
        await channel.start()
        url = f"http://127.0.0.1:{channel.webhook_port}/telegram/webhook"
        await TelegramWebhookAdmin(runtime.config.with_channel(
            "telegram", webhook_url=url).channel("telegram")).set()
        return channel

    first = await serve()
    update = fake.push_message(46, "/start")
    await fake.wait_sent(46, 1, timeout=10)
    await first.stop()
    second = await serve()  # a new process: nothing in memory
    try:
        fake.push_raw(dict(update))
        await fake.wait_for(lambda f: [s for u, s in f.webhook_posts if u == update["update_id"]]
                            == [200, 200], 10, what="the redelivery answered 200")
        fake.push_message(46, "/help")
        await fake.wait_for(lambda f: any("Hướng dẫn" in m["text"] for m in f.sent(46)), 10,
                            what="the help text")
        texts = [m["text"] for m in fake.sent(46)]
        assert len(texts[:next(i for i, t in enumerate(texts) if "Hướng dẫn" in t)]) == 1
    finally:
        await second.stop()
