"""SQL for the web console (issue 17): accounts, sessions, throttling, the audit log, the queue
and dashboard reads, departments' answers and safety cases.

Every function takes the connection of the caller's transaction (`Database.transaction()`).
Search folds text with the project's `fold`, registered on the connection as the SQL function
`fold()` by `register_fold`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiosqlite

from . import lifecycle
from .clock import stamp
from .rows import new_id, scalar

if TYPE_CHECKING:  # storage needs only its fields, never the handlers package at run time
    from handlers.domain import Department

__all__ = [
    "Account", "AuditEntry", "ClusterQuestion", "DepartmentAnswer", "QueueFilters", "QueueRow",
    "SafetyCase", "Session",
]

Conn = aiosqlite.Connection
ROLES = ("staff", "department", "safety", "admin")


async def register_fold(conn: Conn, fold: Callable[[str], str]) -> None:
    """Make `fold(text)` callable from SQL, so search works without diacritics."""
    await conn.create_function("fold", 1, lambda text: fold(text or ""), deterministic=True)


# --- accounts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: int
    login: str
    password_hash: str
    role: str
    department: str | None
    created_at: str
    disabled_at: str | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def _account(row: aiosqlite.Row) -> Account:
    return Account(row["id"], row["login"], row["password_hash"], row["role"], row["department"],
                   row["created_at"], row["disabled_at"])


async def create_account(conn: Conn, login: str, password_hash: str, role: str,
                         department: str | None, *, now: dt.datetime) -> int:
    """A new account; raises sqlite3.IntegrityError when the login is taken."""
    cur = await conn.execute(
        "INSERT INTO console_accounts (login, password_hash, role, department, created_at) "
        "VALUES (?, ?, ?, ?, ?)", (login, password_hash, role, department, stamp(now)))
    return new_id(cur)


async def account_by_login(conn: Conn, login: str) -> Account | None:
    rows = await conn.execute_fetchall("SELECT * FROM console_accounts WHERE login = ?", (login,))
    return next((_account(r) for r in rows), None)


async def accounts(conn: Conn) -> list[Account]:
    rows = await conn.execute_fetchall("SELECT * FROM console_accounts ORDER BY login")
    return [_account(r) for r in rows]


async def disable_account(conn: Conn, login: str, *, now: dt.datetime) -> bool:
    """Disable the account and end its sessions at once; False if there is no such account."""
    cur = await conn.execute(
        "UPDATE console_accounts SET disabled_at = COALESCE(disabled_at, ?) WHERE login = ?",
        (stamp(now), login))
    if cur.rowcount == 0:
        return False
    await conn.execute(
        "DELETE FROM console_sessions WHERE account_id = "
        "(SELECT id FROM console_accounts WHERE login = ?)", (login,))
    return True


async def set_password_hash(conn: Conn, account_id: int, password_hash: str) -> None:
    """A stronger hash of the same password (argon2 parameters raised since it was made)."""
    await conn.execute("UPDATE console_accounts SET password_hash = ? WHERE id = ?",
                       (password_hash, account_id))


# --- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    token_hash: str
    csrf: str
    account: Account


async def create_session(conn: Conn, token_hash: str, account_id: int, csrf: str, *,
                         now: dt.datetime, expires_at: dt.datetime) -> None:
    await conn.execute("DELETE FROM console_sessions WHERE expires_at <= ?", (stamp(now),))
    await conn.execute(
        "INSERT INTO console_sessions (token_hash, account_id, csrf, created_at, seen_at, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (token_hash, account_id, csrf, stamp(now), stamp(now), stamp(expires_at)))


async def live_session(conn: Conn, token_hash: str, *, now: dt.datetime,
                       idle: dt.timedelta) -> Session | None:
    """The session if it has neither expired nor sat idle too long and its account is active;
    it is marked seen now. An expired session is deleted."""
    rows = await conn.execute_fetchall(
        "SELECT s.csrf, s.seen_at, s.expires_at, a.* FROM console_sessions s "
        "JOIN console_accounts a ON a.id = s.account_id WHERE s.token_hash = ?", (token_hash,))
    row = next(iter(rows), None)
    if row is None:
        return None
    if (row["expires_at"] <= stamp(now) or row["seen_at"] <= stamp(now - idle)
            or row["disabled_at"] is not None):
        await end_session(conn, token_hash)
        return None
    await conn.execute("UPDATE console_sessions SET seen_at = ? WHERE token_hash = ?",
                       (stamp(now), token_hash))
    return Session(token_hash, row["csrf"], _account(row))


async def end_session(conn: Conn, token_hash: str) -> None:
    await conn.execute("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))


# --- login throttling --------------------------------------------------------------------------


async def record_login_failure(conn: Conn, key: str, *, now: dt.datetime) -> None:
    await conn.execute("INSERT INTO console_login_failures (key, at) VALUES (?, ?)",
                       (key, stamp(now)))


async def login_failures_since(conn: Conn, key: str, since: dt.datetime) -> int:
    return int(await scalar(
        conn, "SELECT COUNT(*) FROM console_login_failures WHERE key = ? AND at > ?",
        (key, stamp(since))))


async def clear_login_failures(conn: Conn, key: str, *, before: dt.datetime | None = None) -> None:
    """Forget the failures of `key` (a successful login), and everyone's older than `before`."""
    await conn.execute("DELETE FROM console_login_failures WHERE key = ?", (key,))
    if before is not None:
        await conn.execute("DELETE FROM console_login_failures WHERE at <= ?", (stamp(before),))


# --- audit log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    account: str
    role: str
    action: str
    cluster_id: int | None
    detail: str


async def audit(conn: Conn, account: str, role: str, action: str, *, now: dt.datetime,
                cluster_id: int | None = None, detail: str = "") -> None:
    """Append one entry. Never pass a member's words or identity in `detail`."""
    await conn.execute(
        "INSERT INTO audit_log (at, account, role, action, cluster_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)", (stamp(now), account, role, action, cluster_id, detail))


async def audit_entries(conn: Conn, *, cluster_id: int | None = None, limit: int = 100,
                        offset: int = 0) -> list[AuditEntry]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM audit_log WHERE (?1 IS NULL OR cluster_id = ?1) "
        "ORDER BY id DESC LIMIT ?2 OFFSET ?3", (cluster_id, limit, offset))
    return [AuditEntry(r["id"], r["at"], r["account"], r["role"], r["action"], r["cluster_id"],
                       r["detail"]) for r in rows]


# --- reject templates --------------------------------------------------------------------------


async def reject_templates(conn: Conn) -> list[tuple[int, str]]:
    rows = await conn.execute_fetchall(
        "SELECT id, text FROM reject_templates WHERE retired_at IS NULL ORDER BY id")
    return [(r["id"], r["text"]) for r in rows]


async def add_reject_template(conn: Conn, text: str) -> int:
    cur = await conn.execute("INSERT INTO reject_templates (text) VALUES (?)", (text,))
    return new_id(cur)


async def retire_reject_template(conn: Conn, template_id: int, *, now: dt.datetime) -> None:
    await conn.execute("UPDATE reject_templates SET retired_at = ? WHERE id = ?",
                       (stamp(now), template_id))


# --- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    dialogue_id: str
    topic: int | None = None
    commune: str = ""
    status: str = ""
    department_id: str = ""  # forwarded (lead or co-operating, not withdrawn) to this one
    urgent: bool = False
    overdue: bool = False
    search: str = ""  # already folded
    # Overdue: forwarded past its deadline, or not answered once this date has passed.
    today: dt.date | None = None
    answer_deadline: dt.date | None = None
    search_clusters: frozenset[int] = frozenset()  # clusters whose questions match `search`


@dataclass(frozen=True)
class QueueRow:
    id: int
    topic: int
    status: str
    urgent: bool
    department: str
    deadline: dt.date | None
    direct: int
    relayed: int
    disclosure: bool
    text: str = ""
    public_text: str = ""
    communes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        return self.direct + self.relayed


_OPEN_STATUSES = ("da_tra_loi", "khong_phu_hop")  # no longer waiting for staff
_OPEN = "(" + ", ".join(f"'{status}'" for status in _OPEN_STATUSES) + ")"  # in SQL
# Late, as storage.lifecycle.overdue counts it: once the dialogue's answer deadline has passed,
# any live cluster without a written answer (the union's or its lead department's), forwarded
# or not; at any time, a forward past its own deadline that its department has not answered.
_OVERDUE = """(c.status != 'khong_phu_hop' AND (
    (? > ? AND c.answer IS NULL AND NOT EXISTS (
        SELECT 1 FROM forwards f WHERE f.cluster_id = c.id AND f.withdrawn_at IS NULL
          AND f.role = 'lead' AND f.answered_at IS NOT NULL))
    OR EXISTS (SELECT 1 FROM forwards f WHERE f.cluster_id = c.id AND f.withdrawn_at IS NULL
          AND f.answered_at IS NULL AND f.deadline < ?)))"""


def _overdue_params(today: dt.date, answer_deadline: dt.date) -> list[str]:
    return [today.isoformat(), answer_deadline.isoformat(), today.isoformat()]


def _where(f: QueueFilters) -> tuple[str, list[Any]]:
    sql = ["c.dialogue_id = ?", "c.merged_into IS NULL"]
    params: list[Any] = [f.dialogue_id]
    if f.topic is not None:
        sql.append("c.topic = ?")
        params.append(f.topic)
    if f.status:
        sql.append("c.status = ?")
        params.append(f.status)
    if f.department_id:
        sql.append("EXISTS (SELECT 1 FROM forwards fd WHERE fd.cluster_id = c.id "
                   "AND fd.withdrawn_at IS NULL AND fd.department_id = ?)")
        params.append(f.department_id)
    if f.urgent:
        sql.append(f"c.urgent = 1 AND c.status NOT IN {_OPEN}")
    if f.overdue and f.today is not None:
        sql.append(_OVERDUE)
        params += _overdue_params(f.today, f.answer_deadline or f.today)
    if f.commune:
        sql.append("EXISTS (SELECT 1 FROM questions cq WHERE cq.cluster_id = c.id "
                   "AND cq.commune = ?)")
        params.append(f.commune)
    if f.search:
        # Clusters whose questions match come from the caller's index (bot/web/search.py);
        # staff's wording is folded here (few clusters have one).
        sql.append("(c.id IN (SELECT value FROM json_each(?)) OR (c.public_text IS NOT NULL "
                   "AND fold(c.public_text) LIKE ?))")
        params += [_json(sorted(f.search_clusters)),
                   "%" + f.search.replace("%", "").replace("_", "") + "%"]
    return " AND ".join(sql), params


async def queue_page(conn: Conn, f: QueueFilters, *, limit: int,
                     offset: int) -> tuple[list[QueueRow], int]:
    """One page of live clusters matching the filters, most women first (then oldest), and how
    many match. The counts are migration 0010's, kept by triggers in each change's
    transaction: a page reads the clusters it filters, never their questions."""
    where, params = _where(f)
    chosen = f"""
        FROM clusters c JOIN console_cluster_counts k ON k.cluster_id = c.id
        WHERE {where} AND k.live > 0"""
    # One pass: the window counts every match before LIMIT takes the page.
    rows = list(await conn.execute_fetchall(
        f"""
        SELECT c.id, c.topic, c.status, c.urgent, c.department, c.deadline, c.public_text,
               k.direct, k.relayed, k.disclosures, COUNT(*) OVER () {chosen}
        ORDER BY k.direct + k.relayed DESC, c.id LIMIT ? OFFSET ?
        """, (*params, limit, offset)))
    total = rows[0][10] if rows else int(await scalar(conn, f"SELECT COUNT(*) {chosen}", params))
    ids = [r[0] for r in rows]
    texts = await _first_texts(conn, ids)
    communes = await _communes(conn, ids)
    return [
        QueueRow(
            id=r[0], topic=r[1], status=r[2], urgent=bool(r[3]), department=r[4] or "",
            deadline=dt.date.fromisoformat(r[5]) if r[5] else None,
            direct=r[7], relayed=r[8], disclosure=bool(r[3] or r[9]),
            text=texts.get(r[0], ""), public_text=r[6] or "", communes=communes.get(r[0], ()),
        )
        for r in rows
    ], total


async def new_search_texts(conn: Conn, after_id: int) -> list[tuple[int, str, str]]:
    """(id, dialogue id, text) of wordings stored after `after_id`, for the search index."""
    rows = await conn.execute_fetchall(
        "SELECT id, dialogue_id, text FROM questions WHERE id > ? AND text != '' "
        "AND kind IN ('member', 'relay') ORDER BY id", (after_id,))
    return [(r[0], r[1], r[2]) for r in rows]


async def searchable_texts(conn: Conn, ids: Sequence[int], *, hide_disclosures: bool,
                           ) -> list[tuple[int, int, str]]:
    """(id, cluster id, current text) of these questions as search may find them now: not
    erased, not rejected, and no disclosure unless asked for."""
    hidden = " AND urgent = 0 AND danger IS NULL" if hide_disclosures else ""
    rows = await conn.execute_fetchall(
        "SELECT id, cluster_id, text FROM questions WHERE id IN (SELECT value FROM json_each(?)) "
        f"AND text != '' AND rejected_reason IS NULL{hidden}", (_json(ids),))
    return [(r[0], r[1], r[2]) for r in rows]


async def _first_texts(conn: Conn, ids: Sequence[int]) -> dict[int, str]:
    """The first wording of each cluster that is neither rejected nor a disclosure (the scan
    stops at the first: questions_by_cluster is in id order within a cluster)."""
    if not ids:
        return {}
    rows = await conn.execute_fetchall(
        """
        SELECT j.value, (SELECT q.text FROM questions q
                         WHERE q.cluster_id = j.value AND q.kind IN ('member', 'relay')
                           AND q.text != '' AND q.rejected_reason IS NULL AND q.urgent = 0
                           AND q.danger IS NULL
                         ORDER BY q.id LIMIT 1)
        FROM json_each(?) j
        """, (_json(ids),))
    return {r[0]: r[1] for r in rows if r[1]}


SHOWN_COMMUNES = 5


async def _communes(conn: Conn, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """Up to SHOWN_COMMUNES communes of each cluster, from the index, not the whole cluster."""
    if not ids:
        return {}
    rows = await conn.execute_fetchall(
        f"""
        SELECT j.value, (SELECT GROUP_CONCAT(commune, '') FROM (
                             SELECT DISTINCT commune FROM questions
                             WHERE cluster_id = j.value AND commune != ''
                             ORDER BY commune LIMIT {SHOWN_COMMUNES}))
        FROM json_each(?) j
        """, (_json(ids),))
    return {r[0]: tuple((r[1] or "").split("\x1f")) if r[1] else () for r in rows}


def _json(ids: Sequence[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


async def live_cluster_ids(conn: Conn, dialogue_id: str, ids: Sequence[int]) -> list[int]:
    """Of `ids`, the live (not merged) clusters of the dialogue, in order."""
    rows = await conn.execute_fetchall(
        "SELECT id FROM clusters WHERE dialogue_id = ? AND merged_into IS NULL "
        "AND id IN (SELECT value FROM json_each(?)) ORDER BY id", (dialogue_id, _json(ids)))
    return [r["id"] for r in rows]


# --- the dashboard -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    by_status: dict[str, int]
    by_topic: dict[int, tuple[int, int]]  # topic -> (clusters, questions)
    by_commune: list[tuple[str, int]]  # questions per commune, most first
    overdue: int
    urgent_open: int
    questions: int


SHOWN_DASHBOARD_COMMUNES = 30


async def _overdue_count(conn: Conn, dialogue_id: str, today: dt.date,
                         answer_deadline: dt.date) -> int:
    """Late clusters (`_OVERDUE`). Until the dialogue's answer deadline only a forward past its
    own deadline makes one late: those come from the index of open forwards, not from every
    cluster; after it, every unanswered cluster is late and all of them are read."""
    if today > answer_deadline:
        return int(await scalar(
            conn, f"SELECT COUNT(*) FROM clusters c WHERE c.dialogue_id = ? "
            f"AND c.merged_into IS NULL AND {_OVERDUE}",
            (dialogue_id, *_overdue_params(today, answer_deadline))))
    return int(await scalar(
        conn,
        """
        SELECT COUNT(*) FROM clusters c
        WHERE c.id IN (SELECT f.cluster_id FROM forwards f
                       WHERE f.answered_at IS NULL AND f.withdrawn_at IS NULL
                         AND f.deadline < ?)
          AND c.dialogue_id = ? AND c.merged_into IS NULL AND c.status != 'khong_phu_hop'
        """, (today.isoformat(), dialogue_id)))


async def dashboard(conn: Conn, dialogue_id: str, today: dt.date,
                    answer_deadline: dt.date) -> Dashboard:
    """Figures from migration 0010's counts (per topic and cluster, per commune) and the
    dialogue's clusters: no page reads every question."""
    status_rows = list(await conn.execute_fetchall(
        "SELECT status, urgent, n FROM console_status_counts WHERE dialogue_id = ?",
        (dialogue_id,)))
    by_status: dict[str, int] = {}
    for r in status_rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + r["n"]
    topic_rows = await conn.execute_fetchall(
        "SELECT topic, COUNT(*) AS clusters, SUM(n) AS questions FROM console_topic_counts "
        "WHERE dialogue_id = ? GROUP BY topic", (dialogue_id,))
    commune_rows = list(await conn.execute_fetchall(
        "SELECT commune, n FROM console_commune_counts WHERE dialogue_id = ?", (dialogue_id,)))
    communes = sorted(((r["commune"], r["n"]) for r in commune_rows if r["commune"]),
                      key=lambda item: (-item[1], item[0]))
    return Dashboard(
        by_status={k: n for k, n in by_status.items() if n},
        by_topic={r["topic"]: (r["clusters"], r["questions"]) for r in topic_rows},
        by_commune=communes[:SHOWN_DASHBOARD_COMMUNES],
        overdue=await _overdue_count(conn, dialogue_id, today, answer_deadline),
        urgent_open=sum(r["n"] for r in status_rows
                        if r["urgent"] and r["status"] not in _OPEN_STATUSES),
        questions=sum(r["n"] for r in commune_rows),
    )


# --- a cluster's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterQuestion:
    id: int
    receipt: str
    kind: str
    commune: str
    text: str
    anonymous: bool
    represented: int
    display_name: str
    user_deleted: bool
    disclosure: bool  # urgent or a danger disclosure: only the safety role reads it
    voice_url: str
    rejected_reason: str
    created_at: str


async def cluster_questions(conn: Conn, cluster_id: int, *, limit: int = 200,
                            ) -> list[ClusterQuestion]:
    rows = await conn.execute_fetchall(
        """
        SELECT q.id, q.receipt, q.kind, q.commune, q.text, q.anonymous, q.represented,
               q.urgent, q.danger, q.voice_url, q.rejected_reason, q.created_at,
               q.deleted_at IS NOT NULL AS erased,
               COALESCE(u.display_name, '') AS display_name,
               u.deleted_at IS NOT NULL OR u.id IS NULL OR q.deleted_at IS NOT NULL
                   AS user_deleted
        FROM questions q LEFT JOIN users u ON u.id = q.user_id
        WHERE q.cluster_id = ? ORDER BY q.id LIMIT ?
        """, (cluster_id, limit))
    return [
        ClusterQuestion(
            id=r["id"], receipt=r["receipt"], kind=r["kind"], commune=r["commune"],
            text=r["text"], anonymous=bool(r["anonymous"]), represented=r["represented"],
            display_name=r["display_name"], user_deleted=bool(r["user_deleted"]),
            # Her words erased: nothing is left to keep from anyone, so it reads as erased.
            disclosure=bool((r["urgent"] or r["danger"]) and not r["erased"]),
            voice_url=r["voice_url"] or "",
            rejected_reason=r["rejected_reason"] or "", created_at=r["created_at"],
        )
        for r in rows
    ]


async def answer_revisions(conn: Conn, cluster_id: int) -> list[aiosqlite.Row]:
    return list(await conn.execute_fetchall(
        "SELECT revision, answer, agency, recorded_by, recorded_at FROM answer_revisions "
        "WHERE cluster_id = ? ORDER BY revision DESC", (cluster_id,)))


# --- departments' answers ----------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentAnswer:
    """One answer a department submitted in the console and staff's review of it. The text is
    the department's answer as storage.lifecycle keeps it (the journal step of this version);
    the console stores only the review."""

    id: int
    cluster_id: int
    department: str
    text: str
    status: str
    written_by: str
    written_at: str
    decided_by: str
    decided_at: str
    note: str


_DEPT_ANSWERS = """
SELECT a.id, a.cluster_id, a.department, s.note AS text, a.status, a.written_by, a.written_at,
       a.decided_by, a.decided_at, a.note
FROM department_answers a JOIN cluster_steps s ON s.id = a.step_id
"""


def _dept_answer(r: aiosqlite.Row) -> DepartmentAnswer:
    return DepartmentAnswer(r["id"], r["cluster_id"], r["department"], r["text"] or "",
                            r["status"], r["written_by"], r["written_at"], r["decided_by"] or "",
                            r["decided_at"] or "", r["note"] or "")


async def submit_department_answer(conn: Conn, cluster_id: int, department: Department,
                                   text: str, written_by: str, *, now: dt.datetime) -> int:
    """The department's written answer, stored as the forward's (lifecycle: on-time figures,
    reports, reminders, exports read it there) and put up for staff to publish or send back.
    Raises lifecycle.LifecycleError when the cluster is not forwarded to it."""
    await lifecycle.record_department_answer(conn, cluster_id, department.id, text,
                                             by=f"console:{written_by}", now=now)
    # The step record_department_answer has just journalled, in this transaction.
    step_id = await scalar(
        conn, "SELECT MAX(id) FROM cluster_steps WHERE cluster_id = ? AND step = 'answered'",
        (cluster_id,))
    cur = await conn.execute(
        "INSERT INTO department_answers (cluster_id, department, step_id, written_by, "
        "written_at) VALUES (?, ?, ?, ?, ?)",
        (cluster_id, department.name, step_id, written_by, stamp(now)))
    return new_id(cur)


async def department_answers(conn: Conn, cluster_id: int) -> list[DepartmentAnswer]:
    rows = await conn.execute_fetchall(
        _DEPT_ANSWERS + " WHERE a.cluster_id = ? ORDER BY a.id DESC", (cluster_id,))
    return [_dept_answer(r) for r in rows]


async def department_answer(conn: Conn, answer_id: int) -> DepartmentAnswer | None:
    rows = await conn.execute_fetchall(_DEPT_ANSWERS + " WHERE a.id = ?", (answer_id,))
    return next((_dept_answer(r) for r in rows), None)


async def submitted_answers(conn: Conn, dialogue_id: str) -> list[DepartmentAnswer]:
    """Answers waiting for staff to publish or send back."""
    rows = await conn.execute_fetchall(
        _DEPT_ANSWERS + " JOIN clusters c ON c.id = a.cluster_id "
        "WHERE a.status = 'submitted' AND c.dialogue_id = ? ORDER BY a.id", (dialogue_id,))
    return [_dept_answer(r) for r in rows]


async def decide_department_answer(conn: Conn, answer_id: int, status: str, decided_by: str,
                                   *, now: dt.datetime, note: str = "") -> bool:
    """Publish or send back a submitted answer, once; False if it was already decided."""
    cur = await conn.execute(
        "UPDATE department_answers SET status = ?, decided_by = ?, decided_at = ?, note = ? "
        "WHERE id = ? AND status = 'submitted'",
        (status, decided_by, stamp(now), note, answer_id))
    return cur.rowcount == 1


# --- safety cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyCase:
    question_id: int
    receipt: str
    cluster_id: int
    commune: str
    text: str
    danger: str
    created_at: str
    taken_by: str
    taken_at: str
    contacted_at: str
    referred_to: str
    closed_at: str
    has_voice: bool = False  # she (or staff marking it urgent) left a voice message: playable

    @property
    def state(self) -> str:
        if self.closed_at:
            return "closed"
        if self.referred_to:
            return "referred"
        if self.contacted_at:
            return "contacted"
        return "taken" if self.taken_by else "new"


_CASES = """
SELECT q.id, q.receipt, q.cluster_id, q.commune, q.text, COALESCE(q.danger, '') AS danger,
       q.created_at, s.taken_by, s.taken_at, s.contacted_at, s.referred_to, s.closed_at,
       q.voice_url IS NOT NULL AND q.deleted_at IS NULL AS has_voice
FROM questions q LEFT JOIN safety_cases s ON s.question_id = q.id
WHERE (q.urgent = 1 OR q.danger IS NOT NULL)
"""


def _case(r: aiosqlite.Row) -> SafetyCase:
    return SafetyCase(r["id"], r["receipt"], r["cluster_id"], r["commune"], r["text"],
                      r["danger"], r["created_at"], r["taken_by"] or "", r["taken_at"] or "",
                      r["contacted_at"] or "", r["referred_to"] or "", r["closed_at"] or "",
                      bool(r["has_voice"]))


async def safety_cases(conn: Conn, *, limit: int = 200) -> list[SafetyCase]:
    """Every danger alert stored as a question, open cases first, newest first."""
    rows = await conn.execute_fetchall(
        _CASES + " ORDER BY s.closed_at IS NOT NULL, q.id DESC LIMIT ?", (limit,))
    return [_case(r) for r in rows]


async def safety_case(conn: Conn, question_id: int) -> SafetyCase | None:
    rows = await conn.execute_fetchall(_CASES + " AND q.id = ?", (question_id,))
    return next((_case(r) for r in rows), None)


_CASE_STEPS = {
    "take": "taken_by = :by, taken_at = COALESCE(taken_at, :now)",
    "contacted": "contacted_at = COALESCE(contacted_at, :now)",
    "referred": "referred_to = :referred",
    "close": "closed_at = COALESCE(closed_at, :now)",
    "reopen": "closed_at = NULL",
}


async def update_safety_case(conn: Conn, question_id: int, step: str, by: str, *,
                             now: dt.datetime, referred_to: str = "") -> None:
    await conn.execute("INSERT OR IGNORE INTO safety_cases (question_id) VALUES (?)",
                       (question_id,))
    await conn.execute(
        f"UPDATE safety_cases SET {_CASE_STEPS[step]} WHERE question_id = :id",
        {"id": question_id, "by": by, "now": stamp(now), "referred": referred_to})
