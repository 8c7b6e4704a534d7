"""The Telegram channel's own HTTP transport (aiohttp under PTB): files, failures, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram.http import AiohttpRequest
from bot.outbox import RetryLater
from tests.conftest import STAFF_TELEGRAM_ID
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.telegram_chat import send


@pytest.fixture
async def staff_telegram(staff_runtime, fake):
    channel = TelegramChannel(staff_runtime, token=fake.token, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    yield channel
    await channel.stop()


async def test_staff_export_arrives_as_an_excel_file(fake: FakeBotAPI, staff_telegram):
    staff = int(STAFF_TELEGRAM_ID)
    replies = await send(fake, staff, "/xuat xlsx")
    upload = next(m["file"] for m in fake.sent(staff) if m["method"] == "sendDocument")
    assert upload["filename"].endswith(".xlsx")
    assert upload["size"] > 1000  # a real workbook went up as a multipart file, not a field
    assert upload["filename"] in replies[-1]["text"]  # and she is told what she got


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_unreachable_telegram_keeps_the_notification_for_a_retry(runtime):
    # The outbox must hear "try again later", never "sent" and never "give up": otherwise an
    # answer to a woman would be lost while the provincial line to Telegram is down.
    channel = TelegramChannel(runtime, token="123:ABC",
                              base_url=f"http://127.0.0.1:{_closed_port()}/bot")
    await channel.app.bot.request.initialize()  # not bot.initialize(): its getMe would fail
    try:
        with pytest.raises(RetryLater):
            await channel.send_queued("42", "Câu hỏi LC27-000001 của chị đã được trả lời.")
    finally:
        await channel.app.bot.request.shutdown()


async def test_network_failure_is_ptbs_network_error_without_the_token():
    request = AiohttpRequest(connect_timeout=2)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{_closed_port()}/bot123:SECRET/getMe")
        assert "SECRET" not in str(caught.value)
    finally:
        await request.shutdown()


async def test_a_server_that_never_answers_times_out():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    request = AiohttpRequest(read_timeout=0.3)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
    finally:
        await request.shutdown()
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


async def test_a_long_message_refused_half_way_sends_only_the_rest_next_time(runtime, clock):
    # Red-team pass 4, F8: Telegram refused piece 2 (429), and the next round sent the whole
    # answer again, so she read piece 1 twice.
    import datetime as dt

    from bot.outbox import OutboxWorker
    from storage import queries as q
    from tests.fakes.fake_bot_api import RateLimits

    server = FakeBotAPI(limits=RateLimits(per_chat_per_second=1, retry_after=1))
    await server.start()
    channel = TelegramChannel(runtime, token=server.token, base_url=server.base_url,
                              rate_limit=False)
    await channel.app.initialize()
    try:
        answer = "\n\n".join(f"Đoạn {n}: " + "Sở trả lời chi tiết về vay vốn ưu đãi. " * 60
                             for n in range(1, 4))
        async with runtime.db.transaction() as conn:
            await q.enqueue(conn, "telegram", "6161", answer, purpose="answer",
                            dedupe_key="answer:1:1", now=clock())
        worker = OutboxWorker(runtime.db, "telegram", channel.send_queued, per_chat_seconds=0)
        for _ in range(6):
            await worker.drain_once()
            if len(server.sent(6161)) >= 3:
                break
            clock.now += dt.timedelta(seconds=30)
            await asyncio.sleep(1.05)  # the fake's per-chat window passes
        await worker.drain_once()  # nothing is left to send
        got = [m["text"].split(":")[0] for m in server.sent(6161) if m.get("text")]
        assert server.rate_limited >= 1  # a piece was refused on the way
        assert got == ["Đoạn 1", "Đoạn 2", "Đoạn 3"], got
    finally:
        await channel.app.shutdown()
        await server.stop()


async def test_a_long_message_failing_half_way_for_another_reason_sends_only_the_rest(
        runtime, clock):
    # Red-team pass 5, F7: any error but 429 or the network made the whole text go again.
    import datetime as dt

    from bot.outbox import OutboxWorker
    from storage import queries as q

    server = FakeBotAPI()
    await server.start()
    channel = TelegramChannel(runtime, token=server.token, base_url=server.base_url,
                              rate_limit=False)
    await channel.app.initialize()
    try:
        server.refuse_text_after[6162] = 1  # piece 1 goes, piece 2 is refused once
        answer = "\n\n".join(f"Đoạn {n}: " + "Sở trả lời chi tiết về vay vốn ưu đãi. " * 60
                             for n in range(1, 4))
        async with runtime.db.transaction() as conn:
            await q.enqueue(conn, "telegram", "6162", answer, purpose="answer",
                            dedupe_key="answer:2:1", now=clock())
        worker = OutboxWorker(runtime.db, "telegram", channel.send_queued, per_chat_seconds=0)
        for _ in range(4):
            await worker.drain_once()
            clock.now += dt.timedelta(minutes=10)
        got = [m["text"].split(":")[0] for m in server.sent(6162) if m.get("text")]
        assert got == ["Đoạn 1", "Đoạn 2", "Đoạn 3"], got
    finally:
        await channel.app.shutdown()
        await server.stop()
