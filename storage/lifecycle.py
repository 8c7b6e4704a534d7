"""A cluster's life after forwarding (issue 16): SQL for forwards, answers and later steps.

forwarded (a lead department + co-operating ones, each with a deadline checked against the
dialogue) → answered in writing (per department) → discussed at the dialogue (optional chair's
conclusion) → commitment (agency, what, by when) → being resolved → resolved / not resolvable.

Every write is dated from the runtime clock (`now=`) and attributed (`by=`: "channel:user id"
of a staff member, e.g. "telegram:900", or "console:<account>" from the web console) and lands
in `cluster_steps`, the cluster's journal. Validation that protects what is stored (a deadline
in the past, a step on a cluster that does not exist) raises `LifecycleError` with a `code`
the caller turns into a Vietnamese reply (locales/vi.toml [lifecycle]).

Telling the askers is not done here: handlers/answers.py queues those notices in the same
transaction. All functions take the connection of an open `Database.transaction()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosqlite

from . import queries as q
from .clock import stamp
from .rows import first_row, new_id

if TYPE_CHECKING:  # storage needs only their fields, never the handlers package at run time
    from handlers.domain import Department, Dialogue

__all__ = [
    "LATER_STEPS",
    "Assignment",
    "DepartmentItem",
    "DepartmentTally",
    "Forward",
    "LifecycleError",
    "Overdue",
    "Stage",
    "Step",
    "StepListener",
    "answered_forwards",
    "check_commitment_due",
    "check_forward_deadline",
    "claim_reminder",
    "close_cluster",
    "clusters_forwarded_to",
    "current_stage",
    "department_tally",
    "forward_cluster",
    "forwards_of_cluster",
    "forwards_open_at",
    "mark_resolving",
    "open_commitments",
    "overdue",
    "questions_received",
    "record_commitment",
    "record_department_answer",
    "record_discussed",
    "record_step_notice",
    "steps_between",
    "steps_of_cluster",
    "unanswered_forwards",
    "who_should_know_step",
]

Conn = aiosqlite.Connection

FORWARDED = "forwarded"
ANSWERED = "answered"
DISCUSSED = "discussed"
COMMITTED = "committed"
RESOLVING = "resolving"
RESOLVED = "resolved"
UNRESOLVABLE = "unresolvable"
# The steps after the written answer, in order: the cluster's stage is the latest of these.
LATER_STEPS = (DISCUSSED, COMMITTED, RESOLVING, RESOLVED, UNRESOLVABLE)
CLOSED_STEPS = (RESOLVED, UNRESOLVABLE)


class LifecycleError(ValueError):
    """A step that cannot be stored. `code` names why (a key under [lifecycle.error] in the
    locale); `value` carries the date or name concerned, for the reply."""

    def __init__(self, code: str, value: str = "") -> None:
        super().__init__(f"{code}: {value}" if value else code)
        self.code = code
        self.value = value


@dataclass(frozen=True)
class Assignment:
    """One department a cluster goes to, and the date its written answer is due."""

    department: Department
    deadline: dt.date


@dataclass(frozen=True)
class Forward:
    id: int
    cluster_id: int
    department_id: str  # '' for a forward made before migration 0008 (known by name only)
    department_name: str
    role: str  # "lead" | "cooperating"
    deadline: dt.date
    forwarded_at: str
    forwarded_by: str
    answer: str | None
    answered_at: str | None
    answered_by: str | None
    withdrawn_at: str | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    def answered_on(self, tz: dt.tzinfo) -> dt.date | None:
        """The local date of the first answer."""
        if self.answered_at is None:
            return None
        return dt.datetime.fromisoformat(self.answered_at).astimezone(tz).date()

    def on_time(self, tz: dt.tzinfo) -> bool | None:
        """True/False once answered (by the end of its deadline day, local time); None before."""
        day = self.answered_on(tz)
        return None if day is None else day <= self.deadline

    def days_left(self, today: dt.date) -> int:
        """Days until the deadline: 0 on the day, negative once past."""
        return (self.deadline - today).days


@dataclass(frozen=True)
class Step:
    id: int
    cluster_id: int
    step: str
    department_id: str
    department_name: str
    note: str
    due: dt.date | None
    at: str
    by: str


@dataclass(frozen=True)
class Stage:
    """Where a cluster is after its answer: its latest later step, the commitment in force
    (agency, what, by when) and the result once closed."""

    latest: Step | None
    discussed: Step | None
    commitment: Step | None
    result: Step | None  # resolved / unresolvable

    @property
    def step(self) -> str:
        return self.latest.step if self.latest else ""

    @property
    def closed(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class DepartmentItem:
    """One cluster forwarded to a department, as its to-do list shows it."""

    cluster_id: int
    dialogue_id: str
    role: str
    deadline: dt.date
    days_left: int  # 0 on the day, negative once past
    answered_at: str | None
    public_text: str  # staff's official wording ('' if none yet)


@dataclass(frozen=True)
class Overdue:
    """A cluster that is late. `reason`: "not_forwarded" (never forwarded, dialogue's answer
    deadline passed), "not_answered" (forwarded, no answer, dialogue's deadline passed) or
    "forward_late" (one department past its own deadline; `department_*` say which)."""

    cluster_id: int
    dialogue_id: str
    reason: str
    deadline: dt.date
    department_id: str = ""
    department_name: str = ""


@dataclass(frozen=True)
class DepartmentTally:
    """Per department of one dialogue: the annex of the Word report and the Excel sheets."""

    department_id: str
    department_name: str
    forwarded: int
    answered_on_time: int
    answered_late: int
    outstanding: int  # not answered yet (late or not)
    overdue: int  # of the outstanding, past their deadline


# --- validation ------------------------------------------------------------------------------


def check_forward_deadline(dialogue: Dialogue, deadline: dt.date, today: dt.date) -> None:
    """A forward's deadline: not before today, not after the dialogue's answer deadline."""
    if today > dialogue.answer_deadline:
        raise LifecycleError("answer_deadline_passed", dialogue.answer_deadline.isoformat())
    if deadline < today:
        raise LifecycleError("deadline_past", deadline.isoformat())
    if deadline > dialogue.answer_deadline:
        raise LifecycleError("deadline_after_dialogue", dialogue.answer_deadline.isoformat())


def check_commitment_due(due: dt.date, today: dt.date) -> None:
    """A commitment's "by when": not in the past (it may be long after the dialogue)."""
    if due < today:
        raise LifecycleError("deadline_past", due.isoformat())


# --- writes ----------------------------------------------------------------------------------


async def _require_cluster(conn: Conn, cluster_id: int) -> aiosqlite.Row:
    row = await first_row(
        conn, "SELECT id, dialogue_id, status, merged_into FROM clusters WHERE id = ?",
        (cluster_id,))
    if row is None:
        raise LifecycleError("no_cluster", str(cluster_id))
    if row["merged_into"] is not None:
        raise LifecycleError("cluster_merged", str(row["merged_into"]))
    if row["status"] == "khong_phu_hop":
        raise LifecycleError("cluster_rejected", str(cluster_id))
    return row


async def _disclosure_without_wording(conn: Conn, cluster_id: int) -> bool:
    row = await first_row(
        conn,
        """
        SELECT 1 FROM clusters c
        WHERE c.id = ? AND COALESCE(c.public_text, '') = ''
          AND (c.urgent = 1 OR EXISTS (
                SELECT 1 FROM questions q WHERE q.cluster_id = c.id AND q.deleted_at IS NULL
                  AND (q.urgent = 1 OR q.danger IS NOT NULL)))
        """,
        (cluster_id,))
    return row is not None


async def _add_step(conn: Conn, cluster_id: int, step: str, *, by: str, now: dt.datetime,
                    department: tuple[str, str] | None = None, note: str | None = None,
                    due: dt.date | None = None) -> Step:
    dep_id, dep_name = department or (None, None)
    cur = await conn.execute(
        """
        INSERT INTO cluster_steps (cluster_id, step, department_id, department_name, note, due,
                                   at, by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (cluster_id, step, dep_id, dep_name, note, due.isoformat() if due else None,
         stamp(now), by),
    )
    return Step(new_id(cur), cluster_id, step, dep_id or "", dep_name or "", note or "", due,
                stamp(now), by)


async def forward_cluster(
    conn: Conn, dialogue: Dialogue, cluster_id: int, lead: Assignment,
    cooperating: Sequence[Assignment] = (), *, by: str, now: dt.datetime, today: dt.date,
) -> list[Forward]:
    """Forward a cluster to a lead department and co-operating ones, each with its deadline.

    Every deadline is checked (`check_forward_deadline`); a department twice is refused.
    Forwarding again replaces the set: departments left out are withdrawn (kept in history),
    ones kept get their new role and deadline and keep any answer they gave. The lead also
    goes in clusters.department/deadline, which older views read. Returns the active forwards,
    lead first."""
    await _require_cluster(conn, cluster_id)
    if await _disclosure_without_wording(conn, cluster_id):
        # A department reads a danger disclosure only as "Nội dung khẩn": it could not answer
        # it, and her words must not reach it. Staff write what the department may read first.
        raise LifecycleError("urgent_needs_wording", str(cluster_id))
    chosen = [lead, *cooperating]
    ids = [a.department.id for a in chosen]
    if len(set(ids)) != len(ids):
        raise LifecycleError("department_twice")
    for a in chosen:
        check_forward_deadline(dialogue, a.deadline, today)
    when = stamp(now)
    placeholders = ",".join("?" * len(ids))
    await conn.execute(
        f"""
        UPDATE forwards SET withdrawn_at = ?, withdrawn_by = ?
        WHERE cluster_id = ? AND withdrawn_at IS NULL AND department_id NOT IN ({placeholders})
        """,
        (when, by, cluster_id, *ids),
    )
    for a in chosen:
        role = "lead" if a is lead else "cooperating"
        await conn.execute(
            """
            INSERT INTO forwards (cluster_id, department_id, department_name, role, deadline,
                                  forwarded_at, forwarded_by)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (cluster_id, department_id) DO UPDATE SET
                department_name = excluded.department_name, role = excluded.role,
                deadline = excluded.deadline, forwarded_at = excluded.forwarded_at,
                forwarded_by = excluded.forwarded_by, withdrawn_at = NULL, withdrawn_by = NULL
            """,
            (cluster_id, a.department.id, a.department.name, role, a.deadline.isoformat(),
             when, by),
        )
        await _add_step(conn, cluster_id, FORWARDED, by=by, now=now,
                        department=(a.department.id, a.department.name),
                        note=role, due=a.deadline)
    # A forward from before 0008 (known by name only) is replaced by the new set.
    await conn.execute(
        "UPDATE forwards SET withdrawn_at = ?, withdrawn_by = ? "
        "WHERE cluster_id = ? AND department_id = '' AND withdrawn_at IS NULL",
        (when, by, cluster_id))
    await q.forward_cluster(conn, cluster_id, lead.department.name, lead.deadline.isoformat(),
                            now=now)
    return await forwards_of_cluster(conn, cluster_id)


async def record_department_answer(
    conn: Conn, cluster_id: int, department_id: str, answer: str, *, by: str,
    now: dt.datetime, department_name: str = "",
) -> Forward:
    """Store a department's written answer to a cluster forwarded to it.

    The first answer's time decides on time / late; a later call replaces the text (a
    corrected letter) and is journalled too. `department_name` finds a forward made before
    0008 (no id). This does not tell the askers: staff send the union's answer (/traloi,
    `queries.record_answer` + `handlers.answers.tell_answer`)."""
    answer = answer.strip()
    if not answer:
        raise LifecycleError("empty")
    await _require_cluster(conn, cluster_id)
    forward = await _active_forward(conn, cluster_id, department_id, department_name)
    if forward is None:
        raise LifecycleError("not_forwarded_to", department_name or department_id)
    await conn.execute(
        """
        UPDATE forwards SET answer = ?, answered_by = ?,
            answered_at = COALESCE(answered_at, ?)
        WHERE id = ?
        """,
        (answer, by, stamp(now), forward.id),
    )
    await _add_step(conn, cluster_id, ANSWERED, by=by, now=now,
                    department=(forward.department_id, forward.department_name), note=answer)
    found = await _active_forward(conn, cluster_id, forward.department_id,
                                  forward.department_name)
    assert found is not None
    return found


async def record_discussed(conn: Conn, cluster_id: int, conclusion: str | None = None, *,
                           by: str, now: dt.datetime) -> Step:
    """The cluster was discussed at the dialogue; `conclusion`: the chair's, if any."""
    await _require_cluster(conn, cluster_id)
    return await _add_step(conn, cluster_id, DISCUSSED, by=by, now=now,
                           note=(conclusion or "").strip() or None)


async def record_commitment(
    conn: Conn, cluster_id: int, department: Department, what: str, due: dt.date, *,
    by: str, now: dt.datetime, today: dt.date,
) -> Step:
    """An agency's commitment: what it will do, by when (not in the past). A new commitment
    replaces the one in force (the asker is told again: handlers.answers.tell_commitment)."""
    what = what.strip()
    if not what:
        raise LifecycleError("empty")
    check_commitment_due(due, today)
    await _require_cluster(conn, cluster_id)
    stage = await current_stage(conn, cluster_id)
    if stage.closed:
        raise LifecycleError("already_closed", stage.result.step if stage.result else "")
    return await _add_step(conn, cluster_id, COMMITTED, by=by, now=now,
                           department=(department.id, department.name), note=what, due=due)


async def mark_resolving(conn: Conn, cluster_id: int, note: str | None = None, *, by: str,
                         now: dt.datetime) -> Step:
    """The committed agency has started resolving it (needs a commitment in force)."""
    await _require_cluster(conn, cluster_id)
    stage = await current_stage(conn, cluster_id)
    if stage.closed:
        raise LifecycleError("already_closed", stage.result.step if stage.result else "")
    if stage.commitment is None:
        raise LifecycleError("no_commitment")
    c = stage.commitment
    return await _add_step(conn, cluster_id, RESOLVING, by=by, now=now,
                           department=(c.department_id, c.department_name),
                           note=(note or "").strip() or None, due=c.due)


async def close_cluster(conn: Conn, cluster_id: int, resolved: bool, result: str, *,
                        by: str, now: dt.datetime) -> Step:
    """The end: resolved, or not resolvable; `result` says what happened (askers are told
    it). Closing twice is refused; the agency is the commitment's, if any."""
    result = result.strip()
    if not result:
        raise LifecycleError("empty")
    await _require_cluster(conn, cluster_id)
    stage = await current_stage(conn, cluster_id)
    if stage.closed:
        raise LifecycleError("already_closed", stage.result.step if stage.result else "")
    c = stage.commitment
    return await _add_step(conn, cluster_id, RESOLVED if resolved else UNRESOLVABLE, by=by,
                           now=now, note=result,
                           department=(c.department_id, c.department_name) if c else None,
                           due=c.due if c else None)


async def claim_reminder(conn: Conn, key: str, *, now: dt.datetime) -> bool:
    """True for the one caller that fires this reminder; False ever after (restarts too).
    Queue its messages in the same transaction."""
    cur = await conn.execute("INSERT OR IGNORE INTO reminders (key, fired_at) VALUES (?, ?)",
                             (key, stamp(now)))
    return cur.rowcount == 1


@dataclass(frozen=True)
class StepListener:
    """A question in a cluster whose sender is to hear a step (asker, supporter, leader)."""

    question_id: int
    receipt: str
    user_id: int
    channel: str
    chat_id: str
    told: bool  # this question's sender was sent the step


async def who_should_know_step(conn: Conn, cluster_id: int, step_id: int) -> list[StepListener]:
    """Askers, supporters and relaying leaders of a live cluster, and whether each question's
    sender has been sent the step. Deleted and rejected questions hear nothing."""
    rows = await conn.execute_fetchall(
        """
        SELECT q.id, q.receipt, q.user_id, q.channel, u.chat_id,
               EXISTS (SELECT 1 FROM step_notices n
                       WHERE n.question_id = q.id AND n.step_id = ?) AS told
        FROM questions q JOIN users u ON u.id = q.user_id
        WHERE q.cluster_id = ? AND q.deleted_at IS NULL AND u.deleted_at IS NULL
          AND q.rejected_reason IS NULL AND u.chat_id != ''
        ORDER BY q.id
        """,
        (step_id, cluster_id),
    )
    return [StepListener(r["id"], r["receipt"], r["user_id"], r["channel"], r["chat_id"],
                         bool(r["told"])) for r in rows]


async def record_step_notice(conn: Conn, question_id: int, step_id: int, *,
                             now: dt.datetime) -> None:
    """Her question's sender has been sent this step (queued in the same transaction)."""
    await conn.execute(
        "INSERT OR IGNORE INTO step_notices (question_id, step_id, told_at) VALUES (?, ?, ?)",
        (question_id, step_id, stamp(now)))


# --- reads -----------------------------------------------------------------------------------


def _forward(row: aiosqlite.Row) -> Forward:
    return Forward(
        id=row["id"], cluster_id=row["cluster_id"], department_id=row["department_id"],
        department_name=row["department_name"], role=row["role"],
        deadline=dt.date.fromisoformat(row["deadline"]), forwarded_at=row["forwarded_at"],
        forwarded_by=row["forwarded_by"], answer=row["answer"], answered_at=row["answered_at"],
        answered_by=row["answered_by"], withdrawn_at=row["withdrawn_at"],
    )


def _step(row: aiosqlite.Row) -> Step:
    return Step(
        id=row["id"], cluster_id=row["cluster_id"], step=row["step"],
        department_id=row["department_id"] or "", department_name=row["department_name"] or "",
        note=row["note"] or "", due=dt.date.fromisoformat(row["due"]) if row["due"] else None,
        at=row["at"], by=row["by"],
    )


async def _active_forward(conn: Conn, cluster_id: int, department_id: str,
                          department_name: str = "") -> Forward | None:
    row = await first_row(
        conn,
        """
        SELECT * FROM forwards
        WHERE cluster_id = ? AND withdrawn_at IS NULL
          AND (department_id = ? OR (department_id = '' AND department_name = ?))
        ORDER BY department_id DESC LIMIT 1
        """,
        (cluster_id, department_id, department_name),
    )
    return _forward(row) if row else None


async def forwards_of_cluster(conn: Conn, cluster_id: int,
                              include_withdrawn: bool = False) -> list[Forward]:
    """The cluster's forwards, lead first, then co-operating in the order they were added."""
    rows = await conn.execute_fetchall(
        """
        SELECT * FROM forwards WHERE cluster_id = ? AND (? OR withdrawn_at IS NULL)
        ORDER BY withdrawn_at IS NOT NULL, role != 'lead', id
        """,
        (cluster_id, include_withdrawn),
    )
    return [_forward(r) for r in rows]


async def steps_of_cluster(conn: Conn, cluster_id: int) -> list[Step]:
    """The cluster's journal, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM cluster_steps WHERE cluster_id = ? ORDER BY id", (cluster_id,))
    return [_step(r) for r in rows]


async def current_stage(conn: Conn, cluster_id: int) -> Stage:
    """The cluster's stage after the answer, from its journal."""
    later = [s for s in await steps_of_cluster(conn, cluster_id) if s.step in LATER_STEPS]

    def last(*kinds: str) -> Step | None:
        return next((s for s in reversed(later) if s.step in kinds), None)

    return Stage(latest=later[-1] if later else None, discussed=last(DISCUSSED),
                 commitment=last(COMMITTED), result=last(*CLOSED_STEPS))


_LIVE = "c.merged_into IS NULL AND c.status != 'khong_phu_hop'"


async def clusters_forwarded_to(conn: Conn, department: Department, today: dt.date,
                                include_answered: bool = False) -> list[DepartmentItem]:
    """What a department has to answer: live clusters forwarded to it, soonest deadline first,
    with days left (negative once late). `include_answered` keeps the ones it answered."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT f.cluster_id, c.dialogue_id, f.role, f.deadline, f.answered_at,
               COALESCE(c.public_text, '') AS public_text
        FROM forwards f JOIN clusters c ON c.id = f.cluster_id
        WHERE f.withdrawn_at IS NULL AND {_LIVE}
          AND (f.department_id = ? OR (f.department_id = '' AND f.department_name = ?))
          AND (? OR f.answered_at IS NULL)
        ORDER BY f.deadline, f.cluster_id
        """,
        (department.id, department.name, include_answered),
    )
    return [
        DepartmentItem(r["cluster_id"], r["dialogue_id"], r["role"],
                       dt.date.fromisoformat(r["deadline"]),
                       (dt.date.fromisoformat(r["deadline"]) - today).days, r["answered_at"],
                       r["public_text"])
        for r in rows
    ]


async def unanswered_forwards(conn: Conn, dialogue_id: str | None = None) -> list[Forward]:
    """Active forwards of live clusters with no written answer yet (for reminders)."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT f.* FROM forwards f JOIN clusters c ON c.id = f.cluster_id
        WHERE f.withdrawn_at IS NULL AND f.answered_at IS NULL AND {_LIVE}
          AND (? IS NULL OR c.dialogue_id = ?)
        ORDER BY f.deadline, f.cluster_id, f.id
        """,
        (dialogue_id, dialogue_id),
    )
    return [_forward(r) for r in rows]


async def open_commitments(conn: Conn, dialogue_id: str | None = None) -> list[Step]:
    """The commitment in force of each live cluster not yet closed (for reminders)."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT s.* FROM cluster_steps s JOIN clusters c ON c.id = s.cluster_id
        WHERE s.step = 'committed' AND {_LIVE} AND (? IS NULL OR c.dialogue_id = ?)
          AND s.id = (SELECT MAX(id) FROM cluster_steps WHERE cluster_id = s.cluster_id
                      AND step = 'committed')
          AND NOT EXISTS (SELECT 1 FROM cluster_steps x WHERE x.cluster_id = s.cluster_id
                          AND x.step IN ('resolved', 'unresolvable'))
        ORDER BY s.due, s.cluster_id
        """,
        (dialogue_id, dialogue_id),
    )
    return [_step(r) for r in rows]


async def overdue(conn: Conn, dialogue: Dialogue, today: dt.date) -> list[Overdue]:
    """Everything late in a dialogue on `today`.

    Once the dialogue's answer deadline has passed: every live cluster without a written
    answer (the union's, clusters.answer, or its lead department's), forwarded or not. At any
    time: each forward past its own deadline with no answer from that department."""
    out: list[Overdue] = []
    if today > dialogue.answer_deadline:
        rows = await conn.execute_fetchall(
            f"""
            SELECT c.id, EXISTS (SELECT 1 FROM forwards f WHERE f.cluster_id = c.id
                                 AND f.withdrawn_at IS NULL) AS forwarded
            FROM clusters c
            WHERE c.dialogue_id = ? AND {_LIVE} AND c.answer IS NULL
              AND NOT EXISTS (SELECT 1 FROM forwards f WHERE f.cluster_id = c.id
                              AND f.withdrawn_at IS NULL AND f.role = 'lead'
                              AND f.answered_at IS NOT NULL)
            ORDER BY c.id
            """,
            (dialogue.id,),
        )
        out.extend(Overdue(r["id"], dialogue.id,
                           "not_answered" if r["forwarded"] else "not_forwarded",
                           dialogue.answer_deadline) for r in rows)
    rows = await conn.execute_fetchall(
        f"""
        SELECT f.* FROM forwards f JOIN clusters c ON c.id = f.cluster_id
        WHERE c.dialogue_id = ? AND {_LIVE} AND f.withdrawn_at IS NULL
          AND f.answered_at IS NULL AND f.deadline < ?
        ORDER BY f.deadline, f.cluster_id, f.id
        """,
        (dialogue.id, today.isoformat()),
    )
    out.extend(Overdue(r["cluster_id"], dialogue.id, "forward_late",
                       dt.date.fromisoformat(r["deadline"]), r["department_id"],
                       r["department_name"]) for r in rows)
    return out


async def department_tally(conn: Conn, dialogue: Dialogue, today: dt.date,
                           tz: dt.tzinfo) -> list[DepartmentTally]:
    """Per department of the dialogue (its config order, then any other forwarded to):
    forwards, answered on time / late (local date of the first answer against the
    deadline), outstanding, overdue. Counts live clusters' active forwards.

    Counted by SQL per department: a round's thousands of forwards are not read one by one
    (the console's dashboard shows this on every view)."""
    live = f"""FROM forwards f JOIN clusters c ON c.id = f.cluster_id
        WHERE c.dialogue_id = ? AND {_LIVE} AND f.withdrawn_at IS NULL"""
    deadlines = [r[0] for r in await conn.execute_fetchall(
        f"SELECT DISTINCT f.deadline {live}", (dialogue.id,))]
    # On time: first answered before the local midnight that ends its deadline day
    # (Forward.on_time); stamps compare as text. A round has few distinct deadlines.
    ends: list[str] = []
    for d in deadlines:
        ends += [d, stamp(dt.datetime.combine(dt.date.fromisoformat(d) + dt.timedelta(days=1),
                                              dt.time(), tz))]
    end = "CASE f.deadline " + " WHEN ? THEN ?" * len(deadlines) + " END" if deadlines else "''"
    rows = await conn.execute_fetchall(
        f"""
        SELECT f.department_id, f.department_name, MIN(f.id) AS first, COUNT(*) AS forwarded,
               SUM(f.answered_at < {end}) AS on_time, SUM(f.answered_at >= {end}) AS late,
               SUM(f.answered_at IS NULL) AS outstanding,
               SUM(f.answered_at IS NULL AND f.deadline < ?) AS overdue
        {live}
        GROUP BY f.department_id, f.department_name ORDER BY first
        """,
        (*ends, *ends, today.isoformat(), dialogue.id),
    )
    order = list(zip(dialogue.department_ids, dialogue.departments, strict=False))
    for r in rows:  # in the order each was first forwarded to
        key = (r["department_id"], r["department_name"])
        if r["department_id"] == "":
            known = dialogue.department_id(r["department_name"])
            key = (known, r["department_name"]) if known else key
        if key not in order and key[0] not in {i for i, _ in order}:
            order.append(key)
    out = []
    for ident, name in order:
        mine = [r for r in rows if r["department_id"] == ident
                or (r["department_id"] == "" and r["department_name"] == name)]
        out.append(DepartmentTally(
            ident, name, *(sum(r[k] or 0 for r in mine)
                           for k in ("forwarded", "on_time", "late", "outstanding", "overdue"))))
    return out


# --- period figures (seed 003: six-month and year-end reports) -------------------------------
# `since` / `until` are stamps (storage.clock.stamp) of the period's first instant and of the
# instant after its last: local midnights converted by the caller. None: unbounded.


async def answered_forwards(conn: Conn, dialogue_id: str | None = None, *,
                            since: str | None = None, until: str | None = None
                            ) -> list[tuple[str, Forward]]:
    """(dialogue id, forward) of live clusters' active forwards first answered in the period."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT c.dialogue_id, f.* FROM forwards f JOIN clusters c ON c.id = f.cluster_id
        WHERE {_LIVE} AND f.withdrawn_at IS NULL AND f.answered_at IS NOT NULL
          AND (?1 IS NULL OR c.dialogue_id = ?1)
          AND (?2 IS NULL OR f.answered_at >= ?2) AND (?3 IS NULL OR f.answered_at < ?3)
        ORDER BY f.answered_at, f.id
        """,
        (dialogue_id, since, until),
    )
    return [(r["dialogue_id"], _forward(r)) for r in rows]


async def forwards_open_at(conn: Conn, until: str, dialogue_id: str | None = None
                           ) -> list[tuple[str, Forward]]:
    """(dialogue id, forward) forwarded before `until` and not answered by then."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT c.dialogue_id, f.* FROM forwards f JOIN clusters c ON c.id = f.cluster_id
        WHERE {_LIVE} AND f.withdrawn_at IS NULL AND f.forwarded_at < ?1
          AND (f.answered_at IS NULL OR f.answered_at >= ?1)
          AND (?2 IS NULL OR c.dialogue_id = ?2)
        ORDER BY f.deadline, f.id
        """,
        (until, dialogue_id),
    )
    return [(r["dialogue_id"], _forward(r)) for r in rows]


async def steps_between(conn: Conn, kinds: Sequence[str], dialogue_id: str | None = None, *,
                        since: str | None = None, until: str | None = None) -> list[Step]:
    """Journal steps of these kinds on live clusters, in the period, oldest first."""
    marks = ",".join("?" * len(kinds))
    rows = await conn.execute_fetchall(
        f"""
        SELECT s.* FROM cluster_steps s JOIN clusters c ON c.id = s.cluster_id
        WHERE {_LIVE} AND s.step IN ({marks}) AND (? IS NULL OR c.dialogue_id = ?)
          AND (? IS NULL OR s.at >= ?) AND (? IS NULL OR s.at < ?)
        ORDER BY s.id
        """,
        (*kinds, dialogue_id, dialogue_id, since, since, until, until),
    )
    return [_step(r) for r in rows]


async def questions_received(conn: Conn, *, since: str | None = None,
                             until: str | None = None) -> dict[str, tuple[int, int]]:
    """Per dialogue: (questions, people) received in the period. Questions are members' own
    and leaders' relays (not supports); people count each relay's members."""
    rows = await conn.execute_fetchall(
        """
        SELECT dialogue_id, COUNT(*) AS questions,
               SUM(CASE WHEN kind = 'relay' THEN represented ELSE 1 END) AS people
        FROM questions
        WHERE kind != 'support' AND (?1 IS NULL OR created_at >= ?1)
          AND (?2 IS NULL OR created_at < ?2)
        GROUP BY dialogue_id ORDER BY dialogue_id
        """,
        (since, until),
    )
    return {r["dialogue_id"]: (r["questions"], r["people"] or 0) for r in rows}
