"""The real Zalo webhook app (httpx ASGI transport, no network) against hostile bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.channels.zalo import ZaloChannel
from tests.fakes.fake_zalo import TOKEN, FakeZalo

SECRET = "a-long-enough-secret"


@pytest.fixture
async def zalo(runtime):
    fake = FakeZalo()
    await fake.start()
    hook = ZaloChannel(runtime, token=TOKEN, base_url=fake.base_url, mode="webhook")
    hook._secret = SECRET.encode()
    transport = httpx.ASGITransport(app=hook.webhook_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://zalo.test") as http:
        yield fake, hook, http
    await hook.stop()
    await fake.stop()


async def post(http, raw: bytes) -> httpx.Response:
    return await http.post("/zalo/webhook", content=raw, headers={
        "X-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"})


async def test_deeply_nested_webhook_body_is_refused_cleanly(zalo):
    _, _, http = zalo
    response = await post(http, b"[" * 200_000 + b"]" * 200_000)
    assert response.status_code == 400


async def test_webhook_still_answers_after_hostile_bodies(zalo):
    """Held: NUL-filled, non-UTF-8, wrong-typed and 900 kB bodies do not stop the channel."""
    fake, hook, http = zalo
    bodies = [b"\x00" * 5000, b"\xff\xfe\xfd" * 1000, b'{"event_name": 5, "message": []}',
              json.dumps({"event_name": "message.text.received",
                          "message": fake.message("z9", text="x" * 900_000,
                                                  message_id="big")}).encode()]
    for raw in bodies:
        response = await post(http, raw)
        assert response.status_code < 500
        assert await hook.wait_idle(10)
    body = {"event_name": "message.text.received",
            "message": fake.message("z9", text="/start", message_id="after")}
    assert (await post(http, json.dumps(body).encode())).status_code == 200
    assert await hook.wait_idle(10)
    assert any("Hội LHPN" in t for t in fake.texts("z9"))
