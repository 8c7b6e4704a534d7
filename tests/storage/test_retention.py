"""Tables that grow with every sender have a retention rule (queries.prune_stale)."""

from __future__ import annotations

import datetime as dt

from storage import queries as q
from tests.chat import Member


async def count(runtime, table: str) -> int:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute(f"SELECT COUNT(*) FROM {table}")
        return (await cur.fetchone())[0]


async def test_a_thousand_passers_by_leave_nothing_after_the_retention_window(runtime, clock):
    for i in range(1000):  # each writes once and never consents
        await Member(runtime, user=f"visitor-{i}").send("xin chào")
    member = Member(runtime, user="lan")
    for line in ("/start", "1"):  # she consents and stays
        await member.send(line)
    assert await count(runtime, "users") == 1001
    assert await count(runtime, "processed_updates") == 1002

    clock.now += dt.timedelta(days=2)
    async with runtime.db.transaction() as conn:
        await q.prune_stale(conn, now=clock())
    assert await count(runtime, "users") == 1001  # inside every window: nothing goes yet

    clock.now += dt.timedelta(days=29)
    async with runtime.db.transaction() as conn:
        removed = await q.prune_stale(conn, now=clock())
    assert removed["processed_updates"] == 1002
    assert await count(runtime, "users") == 1  # the consented member stays
    assert await count(runtime, "conversations") == 0  # month-old drafts went
    replies = await member.send("/cua_toi")  # and she is still known
    assert "đồng ý" not in "\n".join(r.text for r in replies).lower()
