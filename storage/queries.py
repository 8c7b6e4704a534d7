"""Explicit SQL, one function per question the app asks. Values always go in as parameters.

Every function takes the connection of an open `Database.transaction()`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from .clock import stamp

Conn = aiosqlite.Connection


# --- users -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: int
    channel: str
    external_id: str
    chat_id: str
    display_name: str
    consent_at: str | None
    consent_version: str | None
    announcements: bool
    leader_commune: str | None
    deleted_at: str | None

    @property
    def consented(self) -> bool:
        return self.consent_at is not None


async def _one(conn: Conn, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
    """The first row, in one trip to the database thread instead of two (execute, fetch):
    these run on every message, inside the transaction every other message waits for."""
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)


def _user(row: aiosqlite.Row) -> User:
    return User(
        id=row["id"], channel=row["channel"], external_id=row["external_id"],
        chat_id=row["chat_id"], display_name=row["display_name"], consent_at=row["consent_at"],
        consent_version=row["consent_version"], announcements=bool(row["announcements"]),
        leader_commune=row["leader_commune"], deleted_at=row["deleted_at"],
    )


async def user_by_external_id(conn: Conn, channel: str, external_id: str) -> User | None:
    row = await _one(conn, "SELECT * FROM users WHERE channel = ? AND external_id = ?",
                     (channel, external_id))
    return _user(row) if row else None


async def user_by_id(conn: Conn, user_id: int) -> User | None:
    row = await _one(conn, "SELECT * FROM users WHERE id = ?", (user_id,))
    return _user(row) if row else None


async def ensure_user(
    conn: Conn, channel: str, external_id: str, chat_id: str, display_name: str, *, now: dt.datetime
) -> User:
    """The user for this channel identity, created on first contact (without consent)."""
    row = await _one(
        conn,
        """
        INSERT INTO users (channel, external_id, chat_id, display_name, created_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (channel, external_id) DO UPDATE SET chat_id = excluded.chat_id
        RETURNING *
        """,
        (channel, external_id, chat_id, display_name[:100], stamp(now)),
    )
    assert row is not None  # RETURNING on an upsert always gives the row
    return _user(row)


async def record_consent(conn: Conn, user_id: int, version: str, *, now: dt.datetime) -> None:
    await conn.execute(
        "UPDATE users SET consent_at = ?, consent_version = ?, deleted_at = NULL WHERE id = ?",
        (stamp(now), version, user_id),
    )


async def set_announcements(conn: Conn, user_id: int, wanted: bool) -> None:
    await conn.execute(
        "UPDATE users SET announcements = ? WHERE id = ?", (int(wanted), user_id)
    )


async def set_leader_commune(conn: Conn, user_id: int, commune: str | None) -> None:
    await conn.execute("UPDATE users SET leader_commune = ? WHERE id = ?", (commune, user_id))


# --- conversations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    state: str
    data: dict[str, Any]
    offered: list[dict[str, Any]]


async def get_conversation(conn: Conn, channel: str, chat_id: str) -> Conversation | None:
    row = await _one(
        conn, "SELECT state, data, offered FROM conversations WHERE channel = ? AND chat_id = ?",
        (channel, chat_id),
    )
    if row is None:
        return None
    return Conversation(row["state"], json.loads(row["data"]), json.loads(row["offered"]))


async def save_conversation(
    conn: Conn, channel: str, chat_id: str, state: str, data: dict, offered: list[dict], *,
    now: dt.datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO conversations (channel, chat_id, state, data, offered, updated_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (channel, chat_id) DO UPDATE SET
            state = excluded.state, data = excluded.data,
            offered = excluded.offered, updated_at = excluded.updated_at
        """,
        (channel, chat_id, state, json.dumps(data, ensure_ascii=False),
         json.dumps(offered, ensure_ascii=False), stamp(now)),
    )


async def claim_update(conn: Conn, channel: str, update_key: str, *, now: dt.datetime) -> bool:
    """True the first time a delivery id is seen; False for a duplicate delivery."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO processed_updates (channel, update_key, processed_at) "
        "VALUES (?, ?, ?)",
        (channel, update_key, stamp(now)),
    )
    return cur.rowcount == 1


# --- questions and clusters --------------------------------------------------------------------


@dataclass(frozen=True)
class NewQuestion:
    dialogue_id: str
    user_id: int
    channel: str
    kind: str
    commune: str
    topic: int
    text: str
    anonymous: bool
    cluster_id: int
    represented: int = 1
    meeting_date: str | None = None
    voice_url: str | None = None
    urgent: bool = False
    danger: str | None = None
    supports_question_id: int | None = None


async def next_receipt(conn: Conn, dialogue_id: str, code: str) -> str:
    """The next receipt code of a dialogue, e.g. LC27-000123."""
    await conn.execute(
        """
        INSERT INTO receipt_counters (dialogue_id, last) VALUES (?, 1)
        ON CONFLICT (dialogue_id) DO UPDATE SET last = last + 1
        """,
        (dialogue_id,),
    )
    cur = await conn.execute(
        "SELECT last FROM receipt_counters WHERE dialogue_id = ?", (dialogue_id,)
    )
    (last,) = await cur.fetchone()
    return f"{code}-{last:06d}"


async def create_cluster(
    conn: Conn, dialogue_id: str, topic: int, urgent: bool = False, *, now: dt.datetime
) -> int:
    cur = await conn.execute(
        "INSERT INTO clusters (dialogue_id, topic, urgent, created_at) VALUES (?, ?, ?, ?)",
        (dialogue_id, topic, int(urgent), stamp(now)),
    )
    return cur.lastrowid


async def insert_question(conn: Conn, q: NewQuestion, receipt: str, *, now: dt.datetime) -> int:
    cur = await conn.execute(
        """
        INSERT INTO questions (dialogue_id, receipt, user_id, channel, kind, commune, topic, text,
            anonymous, represented, meeting_date, voice_url, urgent, danger,
            supports_question_id, cluster_id, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (q.dialogue_id, receipt, q.user_id, q.channel, q.kind, q.commune, q.topic, q.text,
         int(q.anonymous), q.represented, q.meeting_date, q.voice_url, int(q.urgent), q.danger,
         q.supports_question_id, q.cluster_id, stamp(now)),
    )
    if q.urgent:
        await conn.execute("UPDATE clusters SET urgent = 1 WHERE id = ?", (q.cluster_id,))
    return cur.lastrowid


async def cluster_exists(conn: Conn, cluster_id: int, dialogue_id: str) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM clusters WHERE id = ? AND dialogue_id = ? AND merged_into IS NULL",
        (cluster_id, dialogue_id),
    )
    return await cur.fetchone() is not None


async def user_supports_cluster(conn: Conn, user_id: int, cluster_id: int) -> str | None:
    """Her receipt if she already asked or supported something in this cluster."""
    cur = await conn.execute(
        "SELECT receipt FROM questions WHERE user_id = ? AND cluster_id = ? "
        "AND deleted_at IS NULL LIMIT 1",
        (user_id, cluster_id),
    )
    row = await cur.fetchone()
    return row["receipt"] if row else None


@dataclass(frozen=True)
class MyQuestion:
    receipt: str
    dialogue_id: str
    kind: str
    topic: int
    text: str
    status: str
    rejected_reason: str | None
    answer: str | None
    answered_by: str | None
    created_at: str


async def questions_of_user(conn: Conn, user_id: int, limit: int = 20) -> list[MyQuestion]:
    """Her questions and supports, newest first, with the status of their cluster."""
    cur = await conn.execute(
        """
        SELECT q.receipt, q.dialogue_id, q.kind, q.topic, q.created_at, q.rejected_reason,
               COALESCE(NULLIF(q.text, ''), s.text, '') AS text,
               c.status, c.answer, c.answered_by
        FROM questions q
        JOIN clusters c ON c.id = q.cluster_id
        LEFT JOIN questions s ON s.id = q.supports_question_id
        WHERE q.user_id = ? AND q.deleted_at IS NULL
        ORDER BY q.id DESC LIMIT ?
        """,
        (user_id, limit),
    )
    return [
        MyQuestion(
            receipt=r["receipt"], dialogue_id=r["dialogue_id"], kind=r["kind"], topic=r["topic"],
            text=r["text"], status="khong_phu_hop" if r["rejected_reason"] else r["status"],
            rejected_reason=r["rejected_reason"], answer=r["answer"],
            answered_by=r["answered_by"], created_at=r["created_at"],
        )
        for r in await cur.fetchall()
    ]


async def leader_chats_of_commune(conn: Conn, commune: str) -> list[tuple[str, str]]:
    """(channel, chat id) of every union leader who relays for `commune` (by invite code)."""
    cur = await conn.execute(
        "SELECT channel, chat_id FROM users WHERE leader_commune = ? AND deleted_at IS NULL "
        "ORDER BY id", (commune,))
    return [(row["channel"], row["chat_id"]) for row in await cur.fetchall()]


async def last_commune_of_user(conn: Conn, user_id: int) -> str | None:
    cur = await conn.execute(
        "SELECT commune FROM questions WHERE user_id = ? AND commune != '' ORDER BY id DESC "
        "LIMIT 1", (user_id,))
    row = await cur.fetchone()
    return row["commune"] if row else None


async def complete_urgent_question(
    conn: Conn, question_id: int, commune: str, topic: int, text: str, anonymous: bool,
    voice_url: str | None,
) -> str:
    """Fill in an urgent question stored early with what she chose later; its receipt."""
    await conn.execute(
        """
        UPDATE questions SET commune = ?, topic = ?, text = ?, anonymous = ?,
            voice_url = COALESCE(?, voice_url)
        WHERE id = ?
        """,
        (commune, topic, text, int(anonymous), voice_url, question_id),
    )
    await conn.execute(
        "UPDATE clusters SET topic = ? WHERE id = (SELECT cluster_id FROM questions WHERE id = ?)",
        (topic, question_id),
    )
    cur = await conn.execute("SELECT receipt FROM questions WHERE id = ?", (question_id,))
    (receipt,) = await cur.fetchone()
    return receipt


async def question_by_receipt(conn: Conn, receipt: str) -> aiosqlite.Row | None:
    cur = await conn.execute("SELECT * FROM questions WHERE receipt = ?", (receipt,))
    return await cur.fetchone()


# --- outbox ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    channel: str
    chat_id: str
    text: str
    purpose: str
    attempts: int
    image: bytes | None = None


async def enqueue(
    conn: Conn, channel: str, chat_id: str, text: str, purpose: str,
    dedupe_key: str | None = None, priority: int = 0, image: bytes | None = None, *,
    now: dt.datetime,
) -> bool:
    """Queue a message; False when one with the same dedupe key was queued before."""
    cur = await conn.execute(
        """
        INSERT OR IGNORE INTO outbox (channel, chat_id, text, purpose, dedupe_key, priority,
            image, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (channel, chat_id, text, purpose, dedupe_key, priority, image, stamp(now)),
    )
    return cur.rowcount == 1


async def pending_outbox(
    conn: Conn, channel: str, limit: int = 100, *, now: dt.datetime
) -> list[OutboxMessage]:
    cur = await conn.execute(
        """
        SELECT id, channel, chat_id, text, purpose, attempts, image FROM outbox
        WHERE channel = ? AND sent_at IS NULL AND failed_at IS NULL
          AND (not_before IS NULL OR not_before <= ?)
        ORDER BY priority DESC, id LIMIT ?
        """,
        (channel, stamp(now), limit),
    )
    return [
        OutboxMessage(r["id"], r["channel"], r["chat_id"], r["text"], r["purpose"],
                      r["attempts"], r["image"])
        for r in await cur.fetchall()
    ]


async def mark_outbox_sent(conn: Conn, message_id: int, *, now: dt.datetime) -> None:
    await conn.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", (stamp(now), message_id))


async def mark_outbox_retry(
    conn: Conn, message_id: int, error: str, not_before: str, give_up: bool, *, now: dt.datetime
) -> None:
    await conn.execute(
        """
        UPDATE outbox SET attempts = attempts + 1, last_error = ?, not_before = ?,
            failed_at = CASE WHEN ? THEN ? ELSE NULL END
        WHERE id = ?
        """,
        (error[:500], not_before, int(give_up), stamp(now), message_id),
    )


# --- staff changes to clusters -----------------------------------------------------------------


async def set_cluster_status(conn: Conn, cluster_id: int, status: str) -> None:
    await conn.execute("UPDATE clusters SET status = ? WHERE id = ?", (status, cluster_id))


async def set_cluster_topic(conn: Conn, cluster_id: int, topic: int) -> None:
    await conn.execute("UPDATE clusters SET topic = ? WHERE id = ?", (topic, cluster_id))
    await conn.execute("UPDATE questions SET topic = ? WHERE cluster_id = ?", (topic, cluster_id))


async def toggle_cluster_urgent(conn: Conn, cluster_id: int) -> bool:
    await conn.execute("UPDATE clusters SET urgent = 1 - urgent WHERE id = ?", (cluster_id,))
    cur = await conn.execute("SELECT urgent FROM clusters WHERE id = ?", (cluster_id,))
    (urgent,) = await cur.fetchone()
    return bool(urgent)


async def forward_cluster(
    conn: Conn, cluster_id: int, department: str, deadline: str, *, now: dt.datetime
) -> None:
    await conn.execute(
        """
        UPDATE clusters SET department = ?, deadline = ?, forwarded_at = ?,
            status = CASE WHEN status IN ('moi', 'da_duyet') THEN 'da_chuyen' ELSE status END
        WHERE id = ?
        """,
        (department, deadline, stamp(now), cluster_id),
    )


async def record_answer(
    conn: Conn, cluster_id: int, answer: str, agency: str, *, now: dt.datetime
) -> None:
    await conn.execute(
        """
        UPDATE clusters SET answer = ?, answered_by = ?, answered_at = ?, status = 'da_tra_loi'
        WHERE id = ?
        """,
        (answer, agency, stamp(now), cluster_id),
    )


async def reject_cluster(conn: Conn, cluster_id: int, reason: str) -> None:
    await conn.execute(
        "UPDATE clusters SET status = 'khong_phu_hop', reject_reason = ? WHERE id = ?",
        (reason, cluster_id),
    )


async def reject_question(conn: Conn, question_id: int, reason: str) -> None:
    await conn.execute(
        "UPDATE questions SET rejected_reason = ? WHERE id = ?", (reason, question_id))


async def merge_clusters(conn: Conn, source: int, target: int) -> int:
    """Move every question of `source` into `target`; returns how many moved."""
    cur = await conn.execute(
        "UPDATE questions SET cluster_id = ? WHERE cluster_id = ?", (target, source))
    await conn.execute(
        """
        UPDATE clusters SET urgent = MAX(urgent, (SELECT urgent FROM clusters WHERE id = ?))
        WHERE id = ?
        """,
        (source, target),
    )
    await conn.execute("UPDATE clusters SET merged_into = ? WHERE id = ?", (target, source))
    return cur.rowcount


async def move_question(conn: Conn, question_id: int, cluster_id: int) -> None:
    await conn.execute(
        "UPDATE questions SET cluster_id = ? WHERE id = ? OR supports_question_id = ?",
        (cluster_id, question_id, question_id),
    )


@dataclass(frozen=True)
class Recipient:
    question_id: int
    receipt: str
    channel: str
    chat_id: str


async def recipients_of_cluster(conn: Conn, cluster_id: int) -> list[Recipient]:
    """Everyone to tell about this cluster: askers, supporters, leaders who relayed it."""
    cur = await conn.execute(
        """
        SELECT q.id, q.receipt, q.channel, u.chat_id FROM questions q
        JOIN users u ON u.id = q.user_id
        WHERE q.cluster_id = ? AND q.deleted_at IS NULL AND u.deleted_at IS NULL
          AND q.rejected_reason IS NULL
        ORDER BY q.id
        """,
        (cluster_id,),
    )
    return [Recipient(r["id"], r["receipt"], r["channel"], r["chat_id"])
            for r in await cur.fetchall()]


async def recipient_of_question(conn: Conn, question_id: int) -> Recipient | None:
    cur = await conn.execute(
        """
        SELECT q.id, q.receipt, q.channel, u.chat_id FROM questions q
        JOIN users u ON u.id = q.user_id
        WHERE q.id = ? AND q.deleted_at IS NULL AND u.deleted_at IS NULL
        """,
        (question_id,),
    )
    r = await cur.fetchone()
    return Recipient(r["id"], r["receipt"], r["channel"], r["chat_id"]) if r else None


# --- commune leaders ---------------------------------------------------------------------------


async def create_invite(
    conn: Conn, code: str, commune: str, created_by: str, *, now: dt.datetime
) -> None:
    await conn.execute(
        "INSERT INTO leader_invites (code, commune, created_by, created_at) VALUES (?, ?, ?, ?)",
        (code, commune, created_by, stamp(now)),
    )


async def redeem_invite(conn: Conn, code: str, user_id: int, *, now: dt.datetime) -> str | None:
    """The invite's commune if the code exists and is unused; it is used up by this call."""
    cur = await conn.execute(
        "UPDATE leader_invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL",
        (user_id, stamp(now), code),
    )
    if cur.rowcount != 1:
        return None
    cur = await conn.execute("SELECT commune FROM leader_invites WHERE code = ?", (code,))
    (commune,) = await cur.fetchone()
    return commune


@dataclass(frozen=True)
class CommuneQuestion:
    receipt: str
    kind: str
    text: str
    represented: int
    status: str


async def questions_of_commune(conn: Conn, commune: str, limit: int = 200) -> list[
        CommuneQuestion]:
    """Everything sent from a commune (members and relays), newest first, with status."""
    cur = await conn.execute(
        """
        SELECT q.receipt, q.kind, q.text, q.represented, q.rejected_reason, c.status
        FROM questions q JOIN clusters c ON c.id = q.cluster_id
        WHERE q.commune = ? AND q.kind IN ('member', 'relay') AND q.deleted_at IS NULL
        ORDER BY q.id DESC LIMIT ?
        """,
        (commune, limit),
    )
    return [
        CommuneQuestion(r["receipt"], r["kind"], r["text"], r["represented"],
                        "khong_phu_hop" if r["rejected_reason"] else r["status"])
        for r in await cur.fetchall()
    ]


# --- personal data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Deleted:
    questions: int
    outbox: int


async def delete_user_data(conn: Conn, user_id: int, *, now: dt.datetime) -> Deleted:
    """Erase a member's identity and the text of her questions. The rows stay, anonymous and
    empty, so cluster counts keep counting her; nothing can lead back to her."""
    cur = await conn.execute(
        """
        UPDATE questions SET text = '', voice_url = NULL, anonymous = 1, deleted_at = ?
        WHERE user_id = ? AND deleted_at IS NULL
        """,
        (stamp(now), user_id),
    )
    questions = cur.rowcount
    user = await user_by_id(conn, user_id)
    outbox = 0
    if user is not None:
        cur = await conn.execute(
            "DELETE FROM outbox WHERE channel = ? AND chat_id = ? AND sent_at IS NULL",
            (user.channel, user.chat_id),
        )
        outbox = cur.rowcount
        await conn.execute(
            "DELETE FROM conversations WHERE channel = ? AND chat_id = ?",
            (user.channel, user.chat_id),
        )
    await conn.execute(
        """
        UPDATE users SET external_id = 'deleted:' || id, chat_id = '', display_name = '',
            consent_at = NULL, consent_version = NULL, announcements = 0, leader_commune = NULL,
            deleted_at = ?
        WHERE id = ?
        """,
        (stamp(now), user_id),
    )
    return Deleted(questions, outbox)


async def purge_dialogue(conn: Conn, dialogue_id: str, *, now: dt.datetime) -> int:
    """Remove personal data of a closed dialogue: texts, voice links and who asked.
    Counts, communes, topics and the departments' answers stay for the records."""
    cur = await conn.execute(
        """
        UPDATE questions SET text = '', voice_url = NULL, user_id = NULL, anonymous = 1,
            deleted_at = COALESCE(deleted_at, ?)
        WHERE dialogue_id = ? AND (text != '' OR user_id IS NOT NULL OR voice_url IS NOT NULL)
        """,
        (stamp(now), dialogue_id),
    )
    return cur.rowcount


async def announcement_recipients(conn: Conn) -> list[tuple[int, str, str]]:
    """(user id, channel, chat id) of every member who consented and wants announcements."""
    cur = await conn.execute(
        """
        SELECT id, channel, chat_id FROM users
        WHERE consent_at IS NOT NULL AND announcements = 1 AND deleted_at IS NULL
          AND chat_id != ''
        ORDER BY id
        """
    )
    return [(r["id"], r["channel"], r["chat_id"]) for r in await cur.fetchall()]
