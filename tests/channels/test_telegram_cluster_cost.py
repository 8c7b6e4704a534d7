"""A member's question joining a big cluster costs the database what joining a small one does.

Pressing "Gửi" checks that the cluster she joins is still open and whether it holds a danger
disclosure. Both were read from the cluster's full summary (counting every question in it,
twice), so each new member of a popular concern cost more than the last: at a thousand members
that was a third of the bot's time per message (bench/throughput.py). Measured in SQLite's own
steps (a progress handler on the message connection), not in seconds: the same on a loaded
machine.
"""

from __future__ import annotations

from handlers.types import Incoming, Kind
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.fakes.telegram_chat import QUESTION, press, send, start_channel, text_of

TO_CONFIRM = ("/start", "1", "nam tam", "1", QUESTION, "2")


async def _terminal_members_at_confirm(runtime, count: int) -> list[str]:
    """`count` members on the terminal, each at her confirm screen with the same question (all
    typed before any is sent, so none is offered another's: they join it at "Gửi")."""
    users = [f"m{i}" for i in range(count)]
    for line in TO_CONFIRM:
        for user in users:
            await runtime.dispatcher.handle(Incoming(
                channel="terminal", chat_id=user, user_id=user, text=line,
                display_name=user))
    return users


async def _send_all(runtime, users: list[str]) -> None:
    for user in users:
        replies = await runtime.dispatcher.handle(Incoming(
            channel="terminal", chat_id=user, user_id=user, kind=Kind.ACTION,
            action="ask:send", display_name=user))
        assert "LC27-" in "\n".join(r.text for r in replies)


async def _steps_of(runtime, act) -> tuple[int, str]:
    """SQLite's steps (in hundreds of VM instructions) on the message connection during `act`,
    and what the bot answered."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    runtime.db._messages.set_progress_handler(count, 100)
    try:
        said = text_of(await act)
    finally:
        runtime.db._messages.set_progress_handler(None, 0)
    return steps, said


async def _steps_of_sending(runtime, fake: FakeBotAPI, chat: int) -> tuple[int, str]:
    return await _steps_of(runtime, press(fake, chat, "Gửi"))


async def test_joining_a_cluster_of_two_hundred_costs_what_joining_one_of_three_does(
        runtime, fake: FakeBotAPI):
    channel = await start_channel(runtime, fake)
    try:
        early, late = 701, 702
        for line in TO_CONFIRM:
            await send(fake, early, line)
            await send(fake, late, line)
        members = await _terminal_members_at_confirm(runtime, 203)
        await _send_all(runtime, members[:3])
        small, said = await _steps_of_sending(runtime, fake, early)
        assert "LC27-000004" in said  # she joined the three before her

        await _send_all(runtime, members[3:])
        big, said = await _steps_of_sending(runtime, fake, late)
        assert "LC27-000205" in said
    finally:
        await channel.stop()
    async with runtime.db.transaction() as conn:
        clusters = await conn.execute_fetchall(
            "SELECT COUNT(DISTINCT cluster_id) FROM questions")
    assert list(clusters[0]) == [1]  # all 205 in one cluster: she did join it
    # Before: twice 200 more rows counted, about 16 times the steps of the small one.
    assert big < small * 1.5, (small, big)


async def test_being_offered_a_cluster_of_two_hundred_costs_what_one_of_three_does(
        runtime, fake: FakeBotAPI):
    """Her question typed, the bot offers the similar concern with how many women asked it:
    that count was a COUNT DISTINCT over every question of the cluster, three times (the
    matcher's summary, the offer checked, the offer shown), each time the cluster grew."""
    members = await _terminal_members_at_confirm(runtime, 203)
    await _send_all(runtime, members[:3])
    channel = await start_channel(runtime, fake)
    try:
        for line in TO_CONFIRM[:-2]:
            await send(fake, 711, line)
        small, said = await _steps_of(runtime, send(fake, 711, QUESTION))
        assert "(3 người đã hỏi)" in said, said

        await _send_all(runtime, members[3:])
        for line in TO_CONFIRM[:-2]:
            await send(fake, 712, line)
        big, said = await _steps_of(runtime, send(fake, 712, QUESTION))
        assert "(203 người đã hỏi)" in said, said
    finally:
        await channel.stop()
    # Before: 3 × 200 more rows counted, 6 -> 207 hundred steps. What still grows with the
    # cluster is the offer's check that none of its questions tells of danger (a scan that
    # stops at nothing it counts): 4 -> 42.
    assert big - small < 100, (small, big)
