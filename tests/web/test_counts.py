"""The queue's and the dashboard's counts stay exactly right through any mix of changes.

Migration 0010 keeps them in tallies updated by triggers in each change's transaction. Here a
seeded random round (new questions, supports, leaders' relays, danger disclosures, approve,
reject, forward, merge, a member erasing her data with /xoa_du_lieu, a question rejected or
moved on its own, a topic changed) runs through the real flows, and after every step what the
console shows is compared with a count from scratch over every question: the queries the
console ran before the tallies existed.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from storage import console as store
from storage import lifecycle
from storage import queries as q
from tests.chat import Member

from .conftest import csrf_of, log_in, logged_in, page_csrf

DIALOGUE = "lai-chau-2027"
TEXTS = (
    "Chị em muốn vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào",
    "Bản em chưa có nước sạch, suối cạn cả mùa khô",
    "Đề nghị mở lớp dạy nghề may cho chị em dân tộc Mông",
    "Rác thải ở suối đầu bản không ai thu gom, bốc mùi",
    "Trạm y tế xã thiếu thuốc cho phụ nữ mang thai",
    "Đường vào bản bị lở đất, xe máy không đi được",
)
DANGER = "chồng say rượu về là đánh em, em sợ lắm, cứu em với"
COMMUNES = ("nam tam", "ban bo", "muong te")


def _recount_clusters(rows) -> list[tuple[int, int, int, bool]]:
    """(cluster, women, relayed, disclosure) in queue order, from every question."""
    return sorted(((r[0], r[1], r[2], bool(r[3])) for r in rows),
                  key=lambda r: (-(r[1] + r[2]), r[0]))


async def recount_queue(conn) -> list[tuple[int, int, int, bool]]:
    rows = await conn.execute_fetchall(
        """
        SELECT q.cluster_id,
               COUNT(DISTINCT CASE WHEN q.kind IN ('member', 'support')
                                   THEN COALESCE(q.user_id, -q.id) END),
               COALESCE(SUM(CASE WHEN q.kind = 'relay' THEN q.represented END), 0),
               MAX(q.deleted_at IS NULL AND (q.urgent = 1 OR q.danger IS NOT NULL)) OR c.urgent
        FROM questions q JOIN clusters c ON c.id = q.cluster_id
        WHERE q.dialogue_id = ? AND q.rejected_reason IS NULL AND c.merged_into IS NULL
        GROUP BY q.cluster_id
        """, (DIALOGUE,))
    return _recount_clusters(rows)


async def recount_dashboard(conn) -> dict:
    topics = await conn.execute_fetchall(
        "SELECT topic, COUNT(DISTINCT cluster_id), COUNT(*) FROM questions "
        "WHERE dialogue_id = ? AND rejected_reason IS NULL GROUP BY topic", (DIALOGUE,))
    communes = await conn.execute_fetchall(
        "SELECT commune, COUNT(*) AS n FROM questions WHERE dialogue_id = ? AND commune != '' "
        "GROUP BY commune ORDER BY n DESC, commune LIMIT 30", (DIALOGUE,))
    total = await conn.execute_fetchall(
        "SELECT COUNT(*) FROM questions WHERE dialogue_id = ?", (DIALOGUE,))
    statuses = await conn.execute_fetchall(
        "SELECT status, COUNT(*) FROM clusters WHERE dialogue_id = ? AND merged_into IS NULL "
        "GROUP BY status", (DIALOGUE,))
    urgent = await conn.execute_fetchall(
        "SELECT COUNT(*) FROM clusters WHERE dialogue_id = ? AND merged_into IS NULL "
        "AND urgent = 1 AND status NOT IN ('da_tra_loi', 'khong_phu_hop')", (DIALOGUE,))
    return {"by_topic": {r[0]: (r[1], r[2]) for r in topics},
            "by_commune": [(r[0], r[1]) for r in communes], "questions": total[0][0],
            "by_status": {r[0]: r[1] for r in statuses}, "urgent_open": urgent[0][0]}


async def shown_queue(conn) -> tuple[list[tuple[int, int, int, bool]], int]:
    rows, total = await store.queue_page(conn, store.QueueFilters(dialogue_id=DIALOGUE),
                                         limit=100_000, offset=0)
    return [(r.id, r.direct, r.relayed, r.disclosure) for r in rows], total


async def check(runtime, step: str) -> None:
    async with runtime.db.transaction() as conn:
        queue, total = await shown_queue(conn)
        expected = await recount_queue(conn)
        assert queue == expected, step
        assert total == len(expected), step
        dialogue = runtime.config.settings.dialogue(DIALOGUE)
        today = runtime.services.clock().astimezone(runtime.config.settings.timezone).date()
        board = await store.dashboard(conn, DIALOGUE, today, dialogue.answer_deadline)
        again = await recount_dashboard(conn)
        # Late as the lifecycle's own list has it (reminders, reports): once per cluster.
        late = {o.cluster_id for o in await lifecycle.overdue(conn, dialogue, today)}
        tz = runtime.config.settings.timezone
        departments = {t.department_id: (t.forwarded, t.answered_on_time, t.answered_late,
                                         t.outstanding, t.overdue)
                       for t in await lifecycle.department_tally(conn, dialogue, today, tz)
                       if t.forwarded}
        assert departments == await recount_departments(conn, today, tz), step
    assert board.by_topic == again["by_topic"], step
    assert board.by_commune == again["by_commune"], step
    assert board.questions == again["questions"], step
    assert board.by_status == again["by_status"], step
    assert board.urgent_open == again["urgent_open"], step
    assert board.overdue == len(late), step


def labels(m: Member) -> str:
    return " ".join(o.label for r in m.replies for o in r.options)


async def recount_departments(conn, today: dt.date, tz: dt.tzinfo) -> dict[str, tuple]:
    """Per department: forwarded, on time, late, outstanding, overdue, forward by forward."""
    rows = await conn.execute_fetchall(
        "SELECT f.department_id, f.deadline, f.answered_at FROM forwards f "
        "JOIN clusters c ON c.id = f.cluster_id WHERE c.dialogue_id = ? "
        "AND c.merged_into IS NULL AND c.status != 'khong_phu_hop' "
        "AND f.withdrawn_at IS NULL", (DIALOGUE,))
    out: dict[str, list[int]] = {}
    for department, deadline, answered_at in rows:
        due = dt.date.fromisoformat(deadline)
        day = dt.datetime.fromisoformat(answered_at).astimezone(tz).date() \
            if answered_at else None
        tally = out.setdefault(department, [0, 0, 0, 0, 0])
        tally[0] += 1
        if day is None:
            tally[3] += 1
            tally[4] += due < today
        else:
            tally[1 if day <= due else 2] += 1
    return {k: tuple(v) for k, v in out.items()}


class Round:
    """One seeded round of changes through the members' flows and the console."""

    def __init__(self, runtime, staff, department, clock, rng: random.Random) -> None:
        self.runtime, self.staff, self.department, self.clock = runtime, staff, department, clock
        self.rng = rng
        self.users = [f"7{i:02d}" for i in range(12)]
        self.leader = Member(runtime, user="chi-hoi")
        self.leader_ready = False

    async def ask(self, text: str | None = None) -> None:
        """A member asks (or supports the like question offered to her), answering what the
        bot shows: a returning member is not asked for consent again."""
        m = Member(self.runtime, user=self.rng.choice(self.users), channel="telegram")
        seen = []
        real_send = m.send

        async def send(line):
            out = await real_send(line)
            seen.append((line, m.text[:120]))
            return out
        m.send = send
        await m.send("/start")
        if "gửi dở" in m.text:  # an earlier one left half-way (a disclosure is stored at once)
            await m.press(next(o.label for o in m.last.options if "lại" in o.label))
        if "Tôi đồng ý" in labels(m):
            await m.send("1")
        await m.send(self.rng.choice(COMMUNES))
        if "Đúng" in labels(m):  # "did you mean …?"
            await m.press("Đúng")
        for line in (str(self.rng.randint(1, 3)), text or self.rng.choice(TEXTS)):
            await m.send(line)
        for _ in range(6):
            if "Mã tiếp nhận" in m.text or "LC27-" in m.text or not m.replies:
                return
            shown = labels(m)
            if "Ủng hộ câu 1" in shown and self.rng.random() < 0.6:
                await m.press("Ủng hộ câu 1")
            elif "Câu của tôi khác" in shown:
                await m.press("Câu của tôi khác")
            elif "Gửi câu hỏi cho Hội" in shown:
                await m.press("Gửi câu hỏi cho Hội")
            elif "Ghi tên tôi" in shown:
                await m.send(self.rng.choice("12"))  # named or anonymous
            elif "Đồng ý" in shown:
                await m.press("Đồng ý")
            else:
                await m.send("1")  # send it, as reviewed
        raise AssertionError(seen)

    async def relay(self) -> None:
        if not self.leader_ready:
            await self.leader.send("/chi_hoi")
            await self.leader.send("1")  # consent
            self.leader_ready = True
        else:
            await self.leader.send("/chi_hoi")
        for line in (str(self.rng.randint(1, 3)), self.rng.choice(TEXTS),
                     str(self.rng.randint(2, 40))):
            await self.leader.send(line)
        if "Bỏ qua" in labels(self.leader):
            await self.leader.press("Bỏ qua")

    async def erase(self) -> None:
        """A member erases her data; half the time one who told of danger."""
        async with self.runtime.db.transaction() as conn:
            told = [r[0] for r in await conn.execute_fetchall(
                "SELECT DISTINCT u.external_id FROM questions q JOIN users u ON u.id = q.user_id "
                "WHERE q.deleted_at IS NULL AND (q.urgent = 1 OR q.danger IS NOT NULL) "
                "ORDER BY 1")]
        who = self.rng.choice(told) if told and self.rng.random() < 0.5 else None
        her = Member(self.runtime, user=who or self.rng.choice(self.users), channel="telegram")
        await her.send("/xoa_du_lieu")
        if "Xóa" in labels(her):
            await her.press("Xóa")

    async def live_clusters(self) -> list[int]:
        async with self.runtime.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT id FROM clusters WHERE dialogue_id = ? AND merged_into IS NULL "
                "AND status != 'khong_phu_hop' ORDER BY id", (DIALOGUE,))
        return [r[0] for r in rows]

    async def bulk(self, verb: str, **data) -> None:
        clusters = await self.live_clusters()
        if not clusters:
            return
        chosen = self.rng.sample(clusters, min(len(clusters), self.rng.randint(1, 3)))
        if verb == "merge":
            data["gop_vao"] = str(chosen[0])
        token = await page_csrf(self.staff)
        response = await self.staff.post("/cum/hang-loat", data={
            "csrf": token, "dot": DIALOGUE, "viec": verb, "cum": [str(c) for c in chosen],
            **data})
        assert response.status_code == 303

    def today(self) -> dt.date:
        return self.clock.now.astimezone(self.runtime.config.settings.timezone).date()

    async def forward(self) -> None:
        """To Sở Tài chính, due some day between tomorrow and the dialogue's answer deadline
        (refused once that passed)."""
        last = self.runtime.config.settings.dialogue(DIALOGUE).answer_deadline
        due = min(last, self.today() + dt.timedelta(days=self.rng.randint(1, 120)))
        await self.bulk("forward", so_chu_tri="so-tai-chinh", han=due.isoformat())

    async def answer(self) -> None:
        """Sở Tài chính answers one of the clusters forwarded to it, in the console."""
        async with self.runtime.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT f.cluster_id FROM forwards f JOIN clusters c ON c.id = f.cluster_id "
                "WHERE f.department_id = 'so-tai-chinh' AND f.withdrawn_at IS NULL "
                "AND c.merged_into IS NULL AND c.status != 'khong_phu_hop' ORDER BY 1")
        if rows:
            cid = self.rng.choice(list(rows))[0]
            page = await self.department.get(f"/so/cum/{cid}")
            if page.status_code == 404:  # every question moved out or rejected: no page
                return
            done = await self.department.post(f"/so/cum/{cid}/tra-loi", data={
                "csrf": csrf_of(page.text), "tra_loi": "Sở đã có văn bản trả lời về việc này."})
            assert done.status_code == 303

    async def days_pass(self) -> None:
        self.clock.now += dt.timedelta(days=self.rng.randint(5, 60))
        for http, login in ((self.staff, "lan"), (self.department, "taichinh")):
            assert (await log_in(http, login)).status_code == 303  # sessions ended meanwhile

    async def one_question(self, change) -> None:
        """A change to one question straight through storage (a staff chat command's)."""
        async with self.runtime.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT id, cluster_id FROM questions WHERE rejected_reason IS NULL ORDER BY id")
            if rows:
                row = self.rng.choice(list(rows))
                await change(conn, row[0], row[1])

    async def step(self, members: bool = True) -> str:
        """One random change; `members`: members still ask (else time passes instead)."""
        kinds = {"ask": 12, "relay": 2, "danger": 1, "approve": 2, "reject": 1, "forward": 2,
                 "answer": 2, "merge": 3, "erase": 2, "reject_one": 1, "move_one": 1,
                 "topic": 1}
        if not members:
            kinds.update(ask=0, relay=0, danger=0, days=4)
        kind = self.rng.choices(list(kinds), list(kinds.values()))[0]
        if kind == "days":
            await self.days_pass()
        elif kind == "answer":
            await self.answer()
        elif kind == "ask":
            await self.ask()
        elif kind == "relay":
            await self.relay()
        elif kind == "danger":
            await self.ask(DANGER)
        elif kind == "approve":
            await self.bulk("approve")
        elif kind == "reject":
            await self.bulk("reject", ly_do="1")
        elif kind == "forward":
            await self.forward()
        elif kind == "merge":
            await self.bulk("merge")
        elif kind == "erase":
            await self.erase()
        elif kind == "reject_one":
            await self.one_question(lambda conn, qid, _c: q.reject_question(conn, qid, "lạc đề"))
        elif kind == "move_one":
            clusters = await self.live_clusters()
            target = self.rng.choice(clusters) if clusters else None
            if target is not None:
                await self.one_question(lambda conn, qid, _c: q.move_question(conn, qid, target))
        else:
            topic = self.rng.randint(1, 3)
            await self.one_question(lambda conn, _q, cid: q.set_cluster_topic(conn, cid, topic))
        return kind


async def test_counts_match_a_recount_after_every_random_change(app, staff_runtime, clock):
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    department = await logged_in(app, "taichinh", "department", "so-tai-chinh",
                                 runtime=staff_runtime)
    round_ = Round(staff_runtime, staff, department, clock, random.Random(17))
    done = []
    for _ in range(160):
        done.append(await round_.step())
        await check(staff_runtime, " → ".join(done))
    # Then weeks pass, forwards fall late, and the dialogue's answer deadline goes by.
    late = 0
    for _ in range(60):
        done.append(await round_.step(members=False))
        await check(staff_runtime, " → ".join(done))
        async with staff_runtime.db.transaction() as conn:
            today = round_.today()
            late = max(late, (await store.dashboard(
                conn, DIALOGUE, today, staff_runtime.config.settings.dialogue(
                    DIALOGUE).answer_deadline)).overdue)
    assert late > 0 and round_.today() > staff_runtime.config.settings.dialogue(
        DIALOGUE).answer_deadline
    # Every kind of change happened, and the round left something to count.
    assert set(done) >= {"ask", "relay", "danger", "approve", "reject", "forward", "answer",
                         "merge", "erase", "reject_one", "move_one", "topic", "days"}, done
    async with staff_runtime.db.transaction() as conn:
        queue, total = await shown_queue(conn)
        kinds = {r[0] for r in await conn.execute_fetchall("SELECT DISTINCT kind FROM questions")}
    assert total > 5 and any(women > 1 for _, women, _, _ in queue)
    assert kinds == {"member", "support", "relay"}
    # What staff read on the page is the same figure.
    assert re.search(rf"\b{total} cụm", (await staff.get("/cum")).text)


async def test_the_upgrade_counts_what_was_there_and_keeps_department_answers(staff_config,
                                                                              clock, tmp_path):
    """A database of the previous version (0009): 0010 counts its questions and keeps every
    department answer's text, from the lifecycle's journal, with staff's review of it."""
    import sqlite3

    from bot.runtime import open_runtime
    from bot.web.app import create_app
    from storage.db import MIGRATIONS_DIR, _statements

    from .conftest import CHEAP

    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for file in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        if file.stem >= "0010":
            break
        for statement in _statements(file.read_text(encoding="utf-8")):
            old.execute(statement)
        old.execute("INSERT INTO schema_migrations VALUES (?, '')", (file.stem,))
    now = "2026-11-20T03:00:00+00:00"
    for user in (1, 2, 3):
        old.execute("INSERT INTO users (id, channel, external_id, chat_id, consent_at, "
                    "created_at) VALUES (?, 'telegram', ?, ?, ?, ?)", (user, user, user, now, now))
    for cid in (1, 2):
        old.execute("INSERT INTO clusters (id, dialogue_id, topic, status, created_at) "
                    "VALUES (?, ?, ?, 'da_chuyen', ?)", (cid, DIALOGUE, cid, now))
    questions = [  # (user, kind, commune, represented, cluster, rejected, urgent)
        (1, "member", "Xã Nậm Tăm", 1, 1, None, 0), (1, "support", "Xã Nậm Tăm", 1, 1, None, 0),
        (2, "support", "Xã Bản Bo", 1, 1, None, 0), (3, "relay", "", 25, 1, None, 0),
        (None, "member", "Xã Bản Bo", 1, 1, None, 0), (2, "member", "Xã Bản Bo", 1, 2, None, 1),
        (3, "member", "Xã Bản Bo", 1, 2, "lạc đề", 0),
    ]
    for qid, (user, kind, commune, many, cid, rejected, urgent) in enumerate(questions, 1):
        old.execute("INSERT INTO questions (id, dialogue_id, receipt, user_id, channel, kind, "
                    "commune, topic, text, represented, cluster_id, rejected_reason, urgent, "
                    "created_at) VALUES (?, ?, ?, ?, 'telegram', ?, ?, ?, 'câu hỏi', ?, ?, ?, "
                    "?, ?)", (qid, DIALOGUE, f"LC27-{qid:06d}", user, kind, commune, cid, many,
                              cid, rejected, urgent, now))
    first, second = "Sở đã có chính sách vay vốn.", "Sở gửi bản sửa: vay tới 100 triệu."
    old.execute("INSERT INTO forwards (cluster_id, department_id, department_name, role, "
                "deadline, forwarded_at, forwarded_by, answer, answered_at, answered_by) "
                "VALUES (1, 'so-tai-chinh', 'Sở Tài chính', 'lead', '2027-07-20', ?, 'x', ?, "
                "?, 'console:taichinh')", (now, second, now))
    old.execute("INSERT INTO cluster_steps (cluster_id, step, department_id, department_name, "
                "note, at, by) VALUES (1, 'answered', 'so-tai-chinh', 'Sở Tài chính', ?, ?, "
                "'console:taichinh')", (first, now))
    later = "2026-11-21T03:00:00+00:00"
    for text, at, status in ((first, now, "returned"), (second, later, "submitted")):
        old.execute("INSERT INTO department_answers (cluster_id, department, text, status, "
                    "written_by, written_at) VALUES (1, 'Sở Tài chính', ?, ?, 'taichinh', ?)",
                    (text, status, at))  # the second has no journal step: kept all the same
    old.close()

    rt = await open_runtime(staff_config, path, clock=clock)
    try:
        async with rt.db.transaction() as conn:
            queue, total = await shown_queue(conn)
            assert queue == await recount_queue(conn) and total == 2
            assert queue == [(1, 3, 25, False), (2, 1, 0, True)]
            answers = await store.department_answers(conn, 1)
            columns = {r[1] for r in await conn.execute_fetchall(
                "PRAGMA table_info(department_answers)")}
        assert [(a.text, a.status) for a in answers] == [(second, "submitted"),
                                                         (first, "returned")]
        assert "text" not in columns  # the text lives in the lifecycle's journal only
        staff = await logged_in(create_app(rt, CHEAP), "lan", "staff", runtime=rt)
        page = (await staff.get("/cum/1")).text
        assert first in page and second in page and "chờ Hội duyệt" in page
    finally:
        await rt.close()
