"""Deadline reminders: before and on each deadline, to staff and the department, once each."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.config import load_config
from bot.reminders import send_reminders
from bot.runtime import open_runtime
from storage import lifecycle as lc
from storage import queries as q
from tests.chat import Member
from tests.conftest import STAFF_GROUP, STAFF_TELEGRAM_ID

DEPT_CHAT = "-100777"


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 1, 0, tzinfo=dt.UTC)  # 08:00 local


@pytest.fixture
def reminder_config(staff_config, tmp_path):
    text = staff_config.path.read_text(encoding="utf-8").replace(
        'id = "so-y-te"\nname = "Sở Y tế"\n',
        f'id = "so-y-te"\nname = "Sở Y tế"\ntelegram_chat_id = {DEPT_CHAT}\n', 1)
    path = tmp_path / "reminders.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


async def reminders(rt) -> list:
    async with rt.db.transaction() as conn:
        return await conn.execute_fetchall(
            "SELECT chat_id, text FROM outbox WHERE purpose = 'reminder' ORDER BY id")


async def test_each_reminder_fires_once_before_and_on_the_day_also_after_a_restart(
        reminder_config, clock, tmp_path):
    s = reminder_config.settings
    dialogue = s.dialogue("lai-chau-2027")
    clock.now = at(dt.date(2027, 7, 1))
    db_path = tmp_path / "r.db"
    rt = await open_runtime(reminder_config, db_path, clock=clock)
    try:
        async with rt.db.transaction() as conn:
            cid = await q.create_cluster(conn, dialogue.id, 1, now=clock.now)
            await lc.forward_cluster(
                conn, dialogue, cid, lc.Assignment(s.department("so-y-te"), dt.date(2027, 7, 20)),
                [lc.Assignment(s.department("so-tai-chinh"), dt.date(2027, 7, 20))],
                by="telegram:900", now=clock.now, today=dt.date(2027, 7, 1))
        fired = []
        for day in range(15, 21):  # 15/07 … 20/07, twice a day
            clock.now = at(dt.date(2027, 7, day))
            fired.append(await send_reminders(rt.db, s, rt.services.locale, clock.now))
            fired.append(await send_reminders(rt.db, s, rt.services.locale, clock.now))
        # Two departments: their "before" on 17/07 (3 days ahead), their "due" on 20/07.
        assert fired == [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 2, 0]
        sent = await reminders(rt)
    finally:
        await rt.close()
    again = await open_runtime(reminder_config, db_path, clock=clock)
    try:  # a restart on the deadline day: nothing again
        assert await send_reminders(again.db, s, again.services.locale, clock.now) == 0
    finally:
        await again.close()
    staff = [t for chat, t in sent if chat == STAFF_GROUP]
    dept = [t for chat, t in sent if chat == DEPT_CHAT]
    assert len(staff) == 2 and len(dept) == 2  # Sở Tài chính has no contact: staff only
    assert "còn 3 ngày" in dept[0] and "Sở Y tế" in dept[0] and f"#{cid}" in dept[0]
    assert "hạn là hôm nay" in dept[1]
    assert "Sở Tài chính" in staff[0] and "Sở Y tế" in staff[0]


async def test_answered_forwards_are_not_reminded(reminder_config, clock, tmp_path):
    s = reminder_config.settings
    dialogue = s.dialogue("lai-chau-2027")
    clock.now = at(dt.date(2027, 7, 1))
    rt = await open_runtime(reminder_config, tmp_path / "r.db", clock=clock)
    try:
        async with rt.db.transaction() as conn:
            cid = await q.create_cluster(conn, dialogue.id, 1, now=clock.now)
            await lc.forward_cluster(
                conn, dialogue, cid, lc.Assignment(s.department("so-y-te"), dt.date(2027, 7, 20)),
                by="telegram:900", now=clock.now, today=dt.date(2027, 7, 1))
            await lc.record_department_answer(conn, cid, "so-y-te", "Đã trả lời.",
                                              by="console:yte", now=clock.now)
        clock.now = at(dt.date(2027, 7, 20))
        assert await send_reminders(rt.db, s, rt.services.locale, clock.now) == 0
    finally:
        await rt.close()


async def test_digest_names_the_summary_deadline_and_never_forwarded_clusters(
        reminder_config, clock, tmp_path):
    s = reminder_config.settings
    dialogue = s.dialogue("lai-chau-2027")
    clock.now = at(dt.date(2027, 7, 1))
    rt = await open_runtime(reminder_config, tmp_path / "r.db", clock=clock)
    try:
        async with rt.db.transaction() as conn:
            never = [await q.create_cluster(conn, dialogue.id, 1, now=clock.now)
                     for _ in range(3)]
        clock.now = at(dt.date(2027, 7, 27))  # after the 25/07 answer deadline
        async with rt.db.transaction() as conn:
            digest = await rt.services.tools.digest(conn, clock.now)
    finally:
        await rt.close()
    assert "31/07/2027 (còn 4 ngày)" in digest.text
    assert "3 cụm CHƯA CHUYỂN" in digest.text
    assert all(f"#{i}" in digest.text for i in never)


async def test_two_connections_racing_fire_each_reminder_once(reminder_config, clock, tmp_path):
    """A second run on the same file at the same moment (a catch-up at start-up while the
    scheduled job runs): the claim decides, nothing is queued twice."""
    from storage.db import Database

    s = reminder_config.settings
    dialogue = s.dialogue("lai-chau-2027")
    clock.now = at(dt.date(2027, 7, 1))
    db_path = tmp_path / "race.db"
    rt = await open_runtime(reminder_config, db_path, clock=clock)
    other = await Database.open(db_path, clock)
    try:
        async with rt.db.transaction() as conn:
            for _ in range(20):
                cid = await q.create_cluster(conn, dialogue.id, 1, now=clock.now)
                await lc.forward_cluster(
                    conn, dialogue, cid,
                    lc.Assignment(s.department("so-y-te"), dt.date(2027, 7, 20)),
                    by="telegram:900", now=clock.now, today=dt.date(2027, 7, 1))
        clock.now = at(dt.date(2027, 7, 20))
        locale = rt.services.locale
        fired = await asyncio.gather(*(send_reminders(db, s, locale, clock.now)
                                       for db in (rt.db, other, rt.db, other)))
        sent = await reminders(rt)
    finally:
        await other.close()
        await rt.close()
    assert sorted(fired) == [0, 0, 0, 20]
    assert len(sent) == 2  # one message to the staff group, one to the department


@pytest.mark.parametrize("texts_in_chat", [False, True])
async def test_reminders_carry_her_words_only_when_config_lets_words_into_chat(
        reminder_config, clock, tmp_path, texts_in_chat):
    """Reminders go to the staff group and to the department's own chat, outside the union:
    with the shipped `[privacy] texts_in_chat = false` (red-team pass 4, F4) they carry the
    cluster number and staff's wording, never her words."""
    text = reminder_config.path.read_text(encoding="utf-8")
    path = tmp_path / "privacy.toml"
    path.write_text(text.replace("\ntexts_in_chat = true",
                                 f"\ntexts_in_chat = {str(texts_in_chat).lower()}", 1),
                    encoding="utf-8")
    config = load_config(path, environ={})
    assert config.settings.texts_in_chat is texts_in_chat
    clock.now = at(dt.date(2027, 7, 1))
    rt = await open_runtime(config, tmp_path / "p.db", clock=clock)
    try:
        member = Member(rt, user="5801", channel="telegram")
        for line in ("/start", "1", "nam tam", "1",
                     "Bản Khuổi Phạc chưa có đường bê tông vào bản, mùa mưa trẻ con đi học "
                     "phải lội bùn", "2", "1"):
            await member.send(line)
        async with rt.db.transaction() as conn:
            [row] = await conn.execute_fetchall("SELECT cluster_id FROM questions")
        staff = Member(rt, user=STAFF_TELEGRAM_ID, channel="telegram")
        await staff.send(f"/chuyen {row[0]} 4 04/07/2027")
        assert "Chủ trì: Sở Y tế" in staff.text
        assert await send_reminders(rt.db, config.settings, rt.services.locale, clock.now) == 1
        sent = await reminders(rt)
        assert {chat for chat, _ in sent} == {STAFF_GROUP, DEPT_CHAT}
        for _, reminder in sent:
            assert ("Khuổi Phạc" in reminder) is texts_in_chat, reminder
            assert f"#{row[0]}" in reminder
        if not texts_in_chat:  # staff's own wording may go
            await staff.send(f"/noidung {row[0]} Làm đường bê tông vào bản")
            clock.now = at(dt.date(2027, 7, 4))
            assert await send_reminders(rt.db, config.settings, rt.services.locale,
                                        clock.now) == 1
            assert "Làm đường bê tông vào bản" in (await reminders(rt))[-1][1]
    finally:
        await rt.close()
