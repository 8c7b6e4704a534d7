"""handlers/engine.py, the Dispatcher, driven directly with a small flow of this file's own.

What she would notice: a platform's second delivery of one message gets no second answer and
stores nothing twice; a step that fails stores nothing and she is told so, truthfully; a reply
is seen only once what it speaks of is committed; two quick messages are answered in the
order she sent them; a conversation left in a state the code no longer knows starts afresh.
"""

from __future__ import annotations

import asyncio
import sqlite3

from handlers.engine import IDLE, Context, Dispatcher
from handlers.menus import menu
from handlers.types import Incoming, Kind
from storage import queries as q


class Notes:
    """A flow that stores each text as an outbox row, or fails after storing when told to."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @property
    def states(self):
        return {IDLE: self.on_text, "picking": self.on_pick}

    @property
    def prompts(self):
        return {IDLE: self.ask, "picking": self.ask_pick}

    async def command(self, ctx: Context, name: str, args: str) -> bool:
        if name == "pick":
            await ctx.show("picking")
            return True
        return False

    async def ask(self, ctx: Context) -> None:
        ctx.say("Chị gửi một dòng.")

    async def ask_pick(self, ctx: Context) -> None:
        ctx.say("Chọn một:", menu([("Một", "pick:1")]))

    async def on_pick(self, ctx: Context) -> None:
        ctx.reset()
        ctx.say(f"Đã chọn {ctx.action}")

    async def on_text(self, ctx: Context) -> None:
        self.seen.append(ctx.text)
        await q.enqueue(ctx.conn, "terminal", ctx.incoming.chat_id, ctx.text, "note",
                        now=ctx.now)
        ctx.data["last"] = ctx.text
        if ctx.text.startswith("hỏng"):
            raise RuntimeError("a bug in the flow")
        ctx.say(f"Đã lưu: {ctx.text}")


def dispatcher(runtime, flow: Notes) -> Dispatcher:
    return Dispatcher(runtime.db, runtime.services, [flow])


def text(body: str, key: str, chat: str = "lan") -> Incoming:
    return Incoming(channel="terminal", chat_id=chat, user_id=chat, text=body, update_key=key)


async def notes(runtime) -> list[str]:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT text FROM outbox WHERE purpose = 'note' ORDER BY id")
        return [r[0] for r in await cur.fetchall()]


async def conversation(runtime, chat: str = "lan"):
    async with runtime.db.transaction() as conn:
        return await q.get_conversation(conn, "terminal", chat)


async def test_a_second_delivery_of_one_message_is_dropped(runtime):
    flow = Notes()
    d = dispatcher(runtime, flow)
    first = await d.handle(text("nước sạch", "u1"))
    again = await d.handle(text("nước sạch", "u1"))
    assert [r.text for r in first] == ["Đã lưu: nước sạch"]
    assert again == []
    assert flow.seen == ["nước sạch"]
    assert await notes(runtime) == ["nước sạch"]
    # The same words in a new delivery are a new message.
    assert [r.text for r in await d.handle(text("nước sạch", "u2"))] == ["Đã lưu: nước sạch"]


async def test_a_failing_step_stores_nothing_and_says_so(runtime):
    d = dispatcher(runtime, Notes())
    await d.handle(text("trước đó", "u1"))
    replies = await d.handle(text("hỏng rồi", "u2"))
    assert [r.text for r in replies] == [runtime.services.locale.t("error.not_stored")]
    assert "CHƯA được lưu" in replies[0].text
    assert await notes(runtime) == ["trước đó"]  # the row written before the raise is gone
    assert (await conversation(runtime)).data == {"last": "trước đó"}
    # Not claimed either: the platform's redelivery of it is handled, not dropped as a duplicate.
    async with runtime.db.transaction() as conn:
        assert await q.claim_update(conn, "terminal", "", "u2", now=runtime.db.clock())


async def test_replies_are_handed_over_only_after_the_commit(runtime):
    d = dispatcher(runtime, Notes())
    seen_by_another_reader: list[list[str]] = []

    async def deliver(replies) -> None:
        # A second connection sees only committed rows.
        with sqlite3.connect(runtime.db.path) as other:
            rows = other.execute("SELECT text FROM outbox WHERE purpose = 'note'").fetchall()
        seen_by_another_reader.append([r[0] for r in rows])

    await d.handle(text("điện lưới", "u1"), deliver)
    assert seen_by_another_reader == [["điện lưới"]]


async def test_one_chat_is_answered_in_the_order_she_wrote(runtime):
    flow = Notes()
    d = dispatcher(runtime, flow)
    sending_first = asyncio.Event()
    release_first = asyncio.Event()
    delivered: list[str] = []

    async def deliver(replies) -> None:
        if replies[0].text == "Đã lưu: chậm":  # the channel is slow to send her first answer
            sending_first.set()
            await release_first.wait()
        delivered.extend(r.text for r in replies)

    slow = asyncio.create_task(d.handle(text("chậm", "u1"), deliver))
    await sending_first.wait()
    fast = asyncio.create_task(d.handle(text("nhanh", "u2"), deliver))
    # Another woman's chat is not held up by hers.
    other = await d.handle(text("chị khác", "u3", chat="mai"), deliver)
    assert [r.text for r in other] == ["Đã lưu: chị khác"]
    for _ in range(20):
        await asyncio.sleep(0)
    assert "nhanh" not in flow.seen  # her second message waits until the first is sent
    release_first.set()
    await asyncio.gather(slow, fast)
    assert delivered == ["Đã lưu: chị khác", "Đã lưu: chậm", "Đã lưu: nhanh"]


async def test_an_unknown_stored_state_starts_afresh(runtime):
    async with runtime.db.transaction() as conn:
        await q.save_conversation(conn, "terminal", "lan", "removed:step", {"draft": "x"},
                                  [{"a": "old:1", "n": 1, "l": "cu", "k": []}],
                                  now=runtime.db.clock())
    d = dispatcher(runtime, Notes())
    replies = await d.handle(text("xin chào", "u1"))
    assert [r.text for r in replies] == ["Đã lưu: xin chào"]
    conv = await conversation(runtime)
    assert (conv.state, conv.data) == (IDLE, {"last": "xin chào"})


async def test_a_typed_number_is_the_button_and_a_forged_one_is_refused(runtime):
    d = dispatcher(runtime, Notes())
    await d.handle(text("/pick", "u1"))
    assert [r.text for r in await d.handle(text("1", "u2"))] == ["Đã chọn pick:1"]
    await d.handle(text("/pick", "u3"))
    forged = await d.handle(Incoming(channel="terminal", chat_id="lan", user_id="lan",
                                     kind=Kind.ACTION, action="pick:9", update_key="u4"))
    assert forged[0].text == runtime.services.locale.t("error.stale_button")
    assert forged[-1].text == "Chọn một:"  # asked again, never left without a way on
    assert (await conversation(runtime)).state == "picking"
