"""Hostile and odd input (tests/data/bad_input.jsonl): a clear reply or a deliberate silence,
no crash, and nothing already stored lost or changed."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from handlers.types import Incoming, Kind
from tests.chat import Member

CASES = [json.loads(line) for line in
         (Path(__file__).resolve().parent.parent / "data" / "bad_input.jsonl").read_text(
             encoding="utf-8").splitlines() if line.strip()]
_keys = itertools.count(10_000)


def incoming(case: dict, user: str) -> Incoming:
    text = case.get("text", "")
    if "text_repeat" in case:
        text = case["text_repeat"]["unit"] * case["text_repeat"]["times"]
    kind = Kind(case["kind"])
    return Incoming(
        channel="telegram", chat_id=("-100" + user) if case.get("group") else user, user_id=user,
        kind=kind, text=text if kind in (Kind.TEXT, Kind.PHOTO, Kind.DOCUMENT) else "",
        action=case.get("action", "") if kind == Kind.ACTION else "",
        media_url="https://example.invalid/v.aac" if kind == Kind.VOICE else "",
        update_key=str(next(_keys)), is_group=bool(case.get("group")),
        is_edit=bool(case.get("edit")), display_name="Lan",
    )


async def snapshot(runtime) -> list[tuple]:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute(
            "SELECT receipt, text, commune, topic, cluster_id, anonymous FROM questions "
            "ORDER BY id")
        return [tuple(r) for r in await cur.fetchall()]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_bad_input(runtime, case):
    user = "bad1"
    m = Member(runtime, user=user, channel="telegram")
    for line in ("/start", "1", "nam tam", "1", "Xin hỏi về hỗ trợ vay vốn nuôi lợn cho hộ nghèo",
                 "2", "1", "/start", "1"):
        await m.send(line)  # one question stored; now at the topic step of a second one
    before = await snapshot(runtime)
    assert len(before) == 1
    replies = []
    for _ in range(case.get("repeat", 1)):
        replies.append(await runtime.dispatcher.handle(incoming(case, user)))
    if case.get("group"):
        assert all(r == [] for r in replies), "groups get a deliberate silence"
    elif case["name"] == "start_other_bot_private":
        assert replies[0] == []  # "/start@otherbot" is not addressed to this bot
    else:
        assert replies[0], "the first message always gets a reply"
        for batch in replies:
            for reply in batch:
                assert reply.text.strip(), "never an empty message"
                assert "Traceback" not in reply.text and "{" not in reply.text.split("\n")[0]
    if case.get("repeat", 1) >= 30:
        answered = sum(1 for r in replies if r)
        assert answered <= runtime.services.settings.flood_max_messages + 1
    assert (await snapshot(runtime))[:1] == before, "what was stored is unchanged"
    # And she can still go on: the bot answers a normal message after the bad one.
    if not case.get("group"):
        runtime.dispatcher._recent.clear()  # the flood window would otherwise mute her
        await m.send("/cua_toi")
        assert before[0][0] in m.text
