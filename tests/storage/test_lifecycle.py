"""storage/lifecycle.py: forwards with validated deadlines, answers, later steps, overdue."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from storage import lifecycle as lc
from storage import queries as q

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2027, 7, 10, 3, 0, tzinfo=dt.UTC)  # 10/07/2027, 10:00 local
TODAY = dt.date(2027, 7, 10)
BY = "telegram:900"


@pytest.fixture
def dialogue(config):
    return config.settings.dialogue("lai-chau-2027")


@pytest.fixture
def deps(config):
    return {d.id: d for d in config.settings.departments}


async def _cluster(conn, dialogue_id="lai-chau-2027") -> int:
    return await q.create_cluster(conn, dialogue_id, 1, now=NOW)


async def test_forward_lead_and_cooperating_each_with_its_deadline(runtime, dialogue, deps):
    async with runtime.db.transaction() as conn:
        cid = await _cluster(conn)
        got = await lc.forward_cluster(
            conn, dialogue, cid, lc.Assignment(deps["so-y-te"], dt.date(2027, 7, 20)),
            [lc.Assignment(deps["so-tai-chinh"], dt.date(2027, 7, 25))],
            by=BY, now=NOW, today=TODAY)
        row = await (await conn.execute(
            "SELECT department, deadline, status FROM clusters WHERE id = ?", (cid,))).fetchone()
    assert [(f.department_id, f.role, f.deadline) for f in got] == [
        ("so-y-te", "lead", dt.date(2027, 7, 20)),
        ("so-tai-chinh", "cooperating", dt.date(2027, 7, 25))]
    # The older views (/xem, digest) still read the lead from the cluster.
    assert tuple(row) == ("Sở Y tế", "2027-07-20", "da_chuyen")


@pytest.mark.parametrize("deadline, code", [
    (dt.date(2027, 7, 9), "deadline_past"),
    (dt.date(2027, 7, 26), "deadline_after_dialogue"),
])
async def test_deadline_outside_the_dialogue_is_refused_and_nothing_stored(
        runtime, dialogue, deps, deadline, code):
    async with runtime.db.transaction() as conn:
        cid = await _cluster(conn)
        with pytest.raises(lc.LifecycleError) as err:
            await lc.forward_cluster(
                conn, dialogue, cid, lc.Assignment(deps["so-y-te"], dt.date(2027, 7, 20)),
                [lc.Assignment(deps["so-tai-chinh"], deadline)], by=BY, now=NOW, today=TODAY)
        assert err.value.code == code
        assert await lc.forwards_of_cluster(conn, cid) == []
        assert await lc.steps_of_cluster(conn, cid) == []


async def test_forward_again_withdraws_the_left_out_and_keeps_answers(runtime, dialogue, deps):
    async with runtime.db.transaction() as conn:
        cid = await _cluster(conn)
        await lc.forward_cluster(
            conn, dialogue, cid, lc.Assignment(deps["so-y-te"], dt.date(2027, 7, 20)),
            [lc.Assignment(deps["so-tai-chinh"], dt.date(2027, 7, 25))],
            by=BY, now=NOW, today=TODAY)
        await lc.record_department_answer(conn, cid, "so-tai-chinh", "Đã có chính sách.",
                                          by="console:taichinh", now=NOW)
        got = await lc.forward_cluster(
            conn, dialogue, cid, lc.Assignment(deps["so-tai-chinh"], dt.date(2027, 7, 22)),
            by=BY, now=NOW, today=TODAY)
        everything = await lc.forwards_of_cluster(conn, cid, include_withdrawn=True)
    assert [(f.department_id, f.role, f.answer) for f in got] == [
        ("so-tai-chinh", "lead", "Đã có chính sách.")]
    assert [f.department_id for f in everything if f.withdrawn_at] == ["so-y-te"]


async def test_later_steps_are_dated_attributed_and_in_order(runtime, dialogue, deps):
    later = NOW + dt.timedelta(days=30)
    async with runtime.db.transaction() as conn:
        cid = await _cluster(conn)
        with pytest.raises(lc.LifecycleError) as err:
            await lc.mark_resolving(conn, cid, by=BY, now=later)
        assert err.value.code == "no_commitment"
        await lc.record_discussed(conn, cid, "Giao Sở Y tế rà soát.", by=BY, now=later)
        with pytest.raises(lc.LifecycleError):
            await lc.record_commitment(conn, cid, deps["so-y-te"], "Rà soát", TODAY,
                                       by=BY, now=later, today=TODAY + dt.timedelta(days=30))
        await lc.record_commitment(conn, cid, deps["so-y-te"], "Rà soát trạm y tế",
                                   dt.date(2027, 12, 31), by=BY, now=later,
                                   today=TODAY + dt.timedelta(days=30))
        await lc.mark_resolving(conn, cid, by="console:yte", now=later)
        await lc.close_cluster(conn, cid, True, "Đã bố trí bác sĩ.", by=BY, now=later)
        with pytest.raises(lc.LifecycleError) as err:
            await lc.close_cluster(conn, cid, False, "x", by=BY, now=later)
        assert err.value.code == "already_closed"
        stage = await lc.current_stage(conn, cid)
        steps = await lc.steps_of_cluster(conn, cid)
    assert [s.step for s in steps] == ["discussed", "committed", "resolving", "resolved"]
    assert all(s.at == "2027-08-09T03:00:00+00:00" for s in steps)
    assert [s.by for s in steps] == [BY, BY, "console:yte", BY]
    assert stage.closed and stage.commitment.department_name == "Sở Y tế"
    assert stage.commitment.due == dt.date(2027, 12, 31)
    assert stage.discussed.note == "Giao Sở Y tế rà soát."


async def test_overdue_includes_never_forwarded_clusters_after_the_answer_deadline(
        runtime, dialogue, deps):
    async with runtime.db.transaction() as conn:
        never = await _cluster(conn)
        late = await _cluster(conn)
        answered = await _cluster(conn)
        for cid in (late, answered):
            await lc.forward_cluster(
                conn, dialogue, cid, lc.Assignment(deps["so-y-te"], dt.date(2027, 7, 20)),
                by=BY, now=NOW, today=TODAY)
        await lc.record_department_answer(conn, answered, "so-y-te", "Trả lời.", by=BY,
                                          now=NOW)
        before = await lc.overdue(conn, dialogue, dt.date(2027, 7, 21))
        after = await lc.overdue(conn, dialogue, dt.date(2027, 7, 27))
    # Before the dialogue's deadline only the forward past its own date is late.
    assert [(o.cluster_id, o.reason) for o in before] == [(late, "forward_late")]
    assert {(o.cluster_id, o.reason) for o in after} == {
        (never, "not_forwarded"), (late, "not_answered"), (late, "forward_late")}


async def test_department_lists_and_tally(runtime, dialogue, deps):
    async with runtime.db.transaction() as conn:
        a = await _cluster(conn)
        b = await _cluster(conn)
        for cid in (a, b):
            await lc.forward_cluster(
                conn, dialogue, cid, lc.Assignment(deps["so-y-te"], dt.date(2027, 7, 12)),
                by=BY, now=NOW, today=TODAY)
        await lc.record_department_answer(conn, a, "so-y-te", "Trả lời đúng hạn.", by=BY,
                                          now=NOW)
        # b answered on the 14th, after its 12th deadline: late.
        await lc.record_department_answer(conn, b, "so-y-te", "Trả lời muộn.", by=BY,
                                          now=NOW + dt.timedelta(days=4))
        c = await _cluster(conn)
        await lc.forward_cluster(
            conn, dialogue, c, lc.Assignment(deps["so-y-te"], dt.date(2027, 7, 12)),
            by=BY, now=NOW, today=TODAY)
        todo = await lc.clusters_forwarded_to(conn, deps["so-y-te"], dt.date(2027, 7, 11))
        tally = {t.department_id: t for t in await lc.department_tally(
            conn, dialogue, dt.date(2027, 7, 15), TZ)}
    assert [(i.cluster_id, i.days_left) for i in todo] == [(c, 1)]
    yte = tally["so-y-te"]
    assert (yte.forwarded, yte.answered_on_time, yte.answered_late, yte.outstanding,
            yte.overdue) == (3, 1, 1, 1, 1)
    assert tally["so-tai-chinh"].forwarded == 0


async def test_reminder_claimed_once(runtime):
    async with runtime.db.transaction() as conn:
        assert await lc.claim_reminder(conn, "fwd:1:before", now=NOW)
        assert not await lc.claim_reminder(conn, "fwd:1:before", now=NOW)


async def test_forwards_made_before_0008_are_carried_over(tmp_path, config):
    """A database that forwarded and answered with the old one-department /chuyen keeps its
    figures after the upgrade: the forward, its answer and its lateness."""
    from storage.db import Database

    db = await Database.open(tmp_path / "old.db")
    try:
        async with db.transaction() as conn:
            for table in ("reminders", "step_notices", "cluster_steps", "forwards"):
                await conn.execute(f"DROP TABLE {table}")
            await conn.execute("DELETE FROM schema_migrations WHERE name = '0008_lifecycle'")
            cid = await q.create_cluster(conn, "lai-chau-2027", 1, now=NOW)
            await q.forward_cluster(conn, cid, "Sở Y tế", "2027-07-12", now=NOW)
            await q.record_answer(conn, cid, "Đã trả lời muộn.", "Sở Y tế", "telegram:900",
                                  now=NOW + dt.timedelta(days=4))
        assert await db.migrate() == ["0008_lifecycle"]
        dialogue = config.settings.dialogue("lai-chau-2027")
        async with db.transaction() as conn:
            [old] = await lc.forwards_of_cluster(conn, cid)
            tally = {t.department_id: t for t in await lc.department_tally(
                conn, dialogue, dt.date(2027, 7, 20), TZ)}
            # Forwarding again with the new model replaces the old, name-only row.
            await lc.forward_cluster(
                conn, dialogue, cid,
                lc.Assignment(config.settings.department("so-y-te"), dt.date(2027, 7, 20)),
                by=BY, now=NOW, today=TODAY)
            active = await lc.forwards_of_cluster(conn, cid)
    finally:
        await db.close()
    assert (old.department_id, old.department_name, old.role) == ("", "Sở Y tế", "lead")
    assert old.on_time(TZ) is False  # answered 14/07, due 12/07
    assert (tally["so-y-te"].forwarded, tally["so-y-te"].answered_late) == (1, 1)
    assert [f.department_id for f in active] == ["so-y-te"]


async def test_on_time_until_local_midnight_of_the_deadline_day(runtime, dialogue, deps):
    """department_tally counts in SQL: an answer at 23:59:59 Vietnam time on the deadline day
    is on time, one a second later is late, as Forward.on_time says."""
    deadline = dt.date(2027, 7, 12)
    midnight = dt.datetime(2027, 7, 13, tzinfo=TZ)
    async with runtime.db.transaction() as conn:
        clusters = [await _cluster(conn) for _ in range(3)]
        for cid in clusters:
            await lc.forward_cluster(conn, dialogue, cid,
                                     lc.Assignment(deps["so-y-te"], deadline),
                                     [lc.Assignment(deps["so-tai-chinh"], deadline)],
                                     by=BY, now=NOW, today=TODAY)
        for cid, when in zip(clusters, (midnight - dt.timedelta(seconds=1), midnight),
                             strict=False):
            await lc.record_department_answer(conn, cid, "so-y-te", "Trả lời.", by=BY,
                                              now=when)
        forwards = [f for cid in clusters for f in await lc.forwards_of_cluster(conn, cid)]
        tally = {t.department_id: t for t in await lc.department_tally(
            conn, dialogue, dt.date(2027, 7, 13), TZ)}
    yte, tc = tally["so-y-te"], tally["so-tai-chinh"]
    assert (yte.forwarded, yte.answered_on_time, yte.answered_late, yte.outstanding,
            yte.overdue) == (3, 1, 1, 1, 1)
    assert (tc.forwarded, tc.answered_on_time, tc.answered_late, tc.outstanding,
            tc.overdue) == (3, 0, 0, 3, 3)
    assert sorted(f.on_time(TZ) for f in forwards if f.department_id == "so-y-te"
                  and f.answered) == [False, True]
