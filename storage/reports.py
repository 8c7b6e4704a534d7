"""Reads for staff: clusters with their counts, digests, statistics, exports.

A cluster's count is the distinct women who asked it or supported it, plus the members a commune
leader relayed it for. Rows whose owner deleted her data still count, anonymously.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import aiosqlite

from .rows import first_row, scalar

__all__ = ["ClusterStanding", "ClusterSummary", "QuestionLine"]

Conn = aiosqlite.Connection

_CLUSTER_SELECT = """
SELECT c.id, c.dialogue_id, c.topic, c.status, c.urgent, c.department, c.deadline,
       c.answer, c.answered_by, c.reject_reason, c.created_at,
       COUNT(DISTINCT CASE WHEN q.kind IN ('member', 'support')
                           THEN COALESCE(q.user_id, -q.id) END) AS direct,
       COALESCE(SUM(CASE WHEN q.kind = 'relay' THEN q.represented END), 0) AS relayed,
       (SELECT r.text FROM questions r
         WHERE r.cluster_id = c.id AND r.kind IN ('member', 'relay') AND r.text != ''
           AND r.rejected_reason IS NULL
         ORDER BY r.id LIMIT 1) AS text,
       GROUP_CONCAT(DISTINCT NULLIF(q.commune, '')) AS communes,
       c.public_text,
       MAX(q.deleted_at IS NULL AND (q.urgent = 1 OR q.danger IS NOT NULL)) AS disclosure,
       MAX(q.created_at) AS last_at
FROM clusters c
JOIN questions q ON q.cluster_id = c.id AND q.rejected_reason IS NULL
"""


@dataclass(frozen=True)
class ClusterSummary:
    id: int
    dialogue_id: str
    topic: int
    status: str
    urgent: bool
    department: str
    deadline: dt.date | None
    answer: str
    answered_by: str
    reject_reason: str
    direct: int
    relayed: int
    text: str
    communes: tuple[str, ...]
    public_text: str = ""  # staff's wording for other members (/noidung)
    # Urgent, or holds a danger disclosure: its text never goes in a digest or an export.
    disclosure: bool = False

    @property
    def total(self) -> int:
        return self.direct + self.relayed

    def overdue(self, today: dt.date) -> bool:
        return (self.status == "da_chuyen" and self.deadline is not None
                and self.deadline < today)


def _summary(row: aiosqlite.Row) -> ClusterSummary:
    return ClusterSummary(
        id=row["id"], dialogue_id=row["dialogue_id"], topic=row["topic"], status=row["status"],
        urgent=bool(row["urgent"]), department=row["department"] or "",
        deadline=dt.date.fromisoformat(row["deadline"]) if row["deadline"] else None,
        answer=row["answer"] or "", answered_by=row["answered_by"] or "",
        reject_reason=row["reject_reason"] or "", direct=row["direct"], relayed=row["relayed"],
        text=row["text"] or "",
        communes=tuple(sorted(set((row["communes"] or "").split(",")) - {""})),
        public_text=row["public_text"] or "",
        disclosure=bool(row["urgent"] or row["disclosure"]),
    )


async def clusters_of_dialogue(
    conn: Conn, dialogue_id: str, topic: int | None = None, status: str | None = None
) -> list[ClusterSummary]:
    """Live (not merged) clusters, biggest first."""
    cur = await conn.execute(
        _CLUSTER_SELECT + """
        WHERE c.dialogue_id = ? AND c.merged_into IS NULL
          AND (? IS NULL OR c.topic = ?) AND (? IS NULL OR c.status = ?)
        GROUP BY c.id
        ORDER BY c.urgent DESC, direct + relayed DESC, c.id
        """,
        (dialogue_id, topic, topic, status, status),
    )
    return [_summary(r) for r in await cur.fetchall()]


async def cluster_summary(conn: Conn, cluster_id: int) -> ClusterSummary | None:
    cur = await conn.execute(_CLUSTER_SELECT + " WHERE c.id = ? GROUP BY c.id", (cluster_id,))
    row = await cur.fetchone()
    return _summary(row) if row else None


@dataclass(frozen=True)
class ClusterStanding:
    """What a member's message needs of a cluster, as `cluster_summary` has it: status, urgent,
    disclosure, `total` women and the first wording."""

    status: str
    urgent: bool
    disclosure: bool
    total: int
    text: str


async def cluster_standing(conn: Conn, cluster_id: int) -> ClusterStanding | None:
    """`cluster_summary`'s status, urgency, disclosure, total and text (None where it gives None:
    no live question), from the counts migration 0010's triggers keep in every change's
    transaction and the cluster's first wording (an index seek): a few rows read, where the
    summary counts every question of the cluster. A member's question joining a cluster of
    thousands asked for it twice, and each similar cluster offered to her once
    (bench/throughput.py)."""
    row = await first_row(
        conn,
        """
        SELECT c.status, c.urgent, k.disclosures, k.direct + k.relayed,
               (SELECT r.text FROM questions r
                 WHERE r.cluster_id = c.id AND r.kind IN ('member', 'relay') AND r.text != ''
                   AND r.rejected_reason IS NULL
                 ORDER BY r.id LIMIT 1)
        FROM clusters c JOIN console_cluster_counts k ON k.cluster_id = c.id
        WHERE c.id = ? AND k.live > 0
        """,
        (cluster_id,))
    if row is None:
        return None
    return ClusterStanding(status=row[0], urgent=bool(row[1]),
                           disclosure=bool(row[1] or row[2]), total=row[3], text=row[4] or "")


async def cluster_dialogue(conn: Conn, cluster_id: int) -> tuple[str, int | None] | None:
    """(dialogue id, merged_into) of a cluster, or None when there is no such cluster."""
    cur = await conn.execute(
        "SELECT dialogue_id, merged_into FROM clusters WHERE id = ?", (cluster_id,))
    row = await cur.fetchone()
    return (row["dialogue_id"], row["merged_into"]) if row else None


@dataclass(frozen=True)
class QuestionLine:
    id: int
    receipt: str
    kind: str
    commune: str
    text: str
    anonymous: bool
    represented: int
    display_name: str
    channel: str
    chat_id: str
    user_deleted: bool
    urgent: bool
    voice_url: str
    rejected_reason: str
    created_at: str


async def questions_in_cluster(conn: Conn, cluster_id: int) -> list[QuestionLine]:
    cur = await conn.execute(
        """
        SELECT q.id, q.receipt, q.kind, q.commune, q.text, q.anonymous, q.represented,
               q.urgent, q.voice_url, q.rejected_reason, q.created_at, q.channel,
               COALESCE(u.display_name, '') AS display_name, COALESCE(u.chat_id, '') AS chat_id,
               u.deleted_at IS NOT NULL OR u.id IS NULL AS user_deleted
        FROM questions q LEFT JOIN users u ON u.id = q.user_id
        WHERE q.cluster_id = ? ORDER BY q.id
        """,
        (cluster_id,),
    )
    return [
        QuestionLine(
            id=r["id"], receipt=r["receipt"], kind=r["kind"], commune=r["commune"],
            text=r["text"], anonymous=bool(r["anonymous"]), represented=r["represented"],
            display_name=r["display_name"], channel=r["channel"], chat_id=r["chat_id"],
            user_deleted=bool(r["user_deleted"]), urgent=bool(r["urgent"]),
            voice_url=r["voice_url"] or "", rejected_reason=r["rejected_reason"] or "",
            created_at=r["created_at"],
        )
        for r in await cur.fetchall()
    ]


async def new_questions_since(conn: Conn, since: str, dialogue_id: str | None = None) -> int:
    return await scalar(
        conn,
        "SELECT COUNT(*) FROM questions WHERE created_at > ? AND (? IS NULL OR dialogue_id = ?)",
        (since, dialogue_id, dialogue_id),
    )


async def counts_by_commune(conn: Conn, dialogue_id: str, since: str = "") -> list[tuple[str, int]]:
    cur = await conn.execute(
        """
        SELECT commune, COUNT(*) AS n FROM questions
        WHERE dialogue_id = ? AND created_at > ? AND commune != ''
        GROUP BY commune ORDER BY n DESC, commune
        """,
        (dialogue_id, since),
    )
    return [(r["commune"], r["n"]) for r in await cur.fetchall()]


async def counts_by_day(conn: Conn, dialogue_id: str, tz_offset_hours: int = 7,
                        days: int = 14) -> list[tuple[dt.date, int]]:
    cur = await conn.execute(
        """
        SELECT date(created_at, ?) AS day, COUNT(*) AS n FROM questions
        WHERE dialogue_id = ? GROUP BY day ORDER BY day DESC LIMIT ?
        """,
        (f"{tz_offset_hours:+d} hours", dialogue_id, days),
    )
    rows = [(dt.date.fromisoformat(r["day"]), r["n"]) for r in await cur.fetchall()]
    return sorted(rows)


async def last_digest(conn: Conn) -> str:
    """When the last digest was claimed (UTC ISO), or "" before the first one."""
    return await scalar(conn, "SELECT MAX(claimed_at) FROM digest_runs") or ""


async def claim_digest_day(conn: Conn, day: dt.date, now: str, since: str) -> bool:
    """True for the one caller that claims this local day's digest; False ever after."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO digest_runs (digest_date, claimed_at, since) VALUES (?, ?, ?)",
        (day.isoformat(), now, since),
    )
    return cur.rowcount == 1


async def question_count(conn: Conn, dialogue_id: str) -> int:
    """Questions a dialogue received (supports of someone else's question not counted)."""
    return await scalar(
        conn, "SELECT COUNT(*) FROM questions WHERE dialogue_id = ? AND kind != 'support'",
        (dialogue_id,))
