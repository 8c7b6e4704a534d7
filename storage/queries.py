"""Explicit SQL, one function per question the app asks. Values always go in as parameters.

Every function takes the connection of an open `Database.transaction()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from .db import utcnow

__all__ = [
    "Conversation",
    "MyQuestion",
    "NewQuestion",
    "OutboxMessage",
    "User",
]

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


def _user(row: aiosqlite.Row) -> User:
    return User(
        id=row["id"], channel=row["channel"], external_id=row["external_id"],
        chat_id=row["chat_id"], display_name=row["display_name"], consent_at=row["consent_at"],
        consent_version=row["consent_version"], announcements=bool(row["announcements"]),
        leader_commune=row["leader_commune"], deleted_at=row["deleted_at"],
    )


async def user_by_external_id(conn: Conn, channel: str, external_id: str) -> User | None:
    cur = await conn.execute(
        "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
    )
    row = await cur.fetchone()
    return _user(row) if row else None


async def user_by_id(conn: Conn, user_id: int) -> User | None:
    cur = await conn.execute("SELECT * FROM users WHERE id = ?", (user_id,))
    row = await cur.fetchone()
    return _user(row) if row else None


async def ensure_user(
    conn: Conn, channel: str, external_id: str, chat_id: str, display_name: str
) -> User:
    """The user for this channel identity, created on first contact (without consent)."""
    await conn.execute(
        """
        INSERT INTO users (channel, external_id, chat_id, display_name, created_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (channel, external_id) DO UPDATE SET chat_id = excluded.chat_id
        """,
        (channel, external_id, chat_id, display_name[:100], utcnow()),
    )
    user = await user_by_external_id(conn, channel, external_id)
    assert user is not None
    return user


async def record_consent(conn: Conn, user_id: int, version: str) -> None:
    await conn.execute(
        "UPDATE users SET consent_at = ?, consent_version = ?, deleted_at = NULL WHERE id = ?",
        (utcnow(), version, user_id),
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
    cur = await conn.execute(
        "SELECT state, data, offered FROM conversations WHERE channel = ? AND chat_id = ?",
        (channel, chat_id),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return Conversation(row["state"], json.loads(row["data"]), json.loads(row["offered"]))


async def save_conversation(
    conn: Conn, channel: str, chat_id: str, state: str, data: dict, offered: list[dict]
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
         json.dumps(offered, ensure_ascii=False), utcnow()),
    )


async def claim_update(conn: Conn, channel: str, update_key: str) -> bool:
    """True the first time a delivery id is seen; False for a duplicate delivery."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO processed_updates (channel, update_key, processed_at) "
        "VALUES (?, ?, ?)",
        (channel, update_key, utcnow()),
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


async def create_cluster(conn: Conn, dialogue_id: str, topic: int, urgent: bool = False) -> int:
    cur = await conn.execute(
        "INSERT INTO clusters (dialogue_id, topic, urgent, created_at) VALUES (?, ?, ?, ?)",
        (dialogue_id, topic, int(urgent), utcnow()),
    )
    return cur.lastrowid


async def insert_question(conn: Conn, q: NewQuestion, receipt: str) -> int:
    cur = await conn.execute(
        """
        INSERT INTO questions (dialogue_id, receipt, user_id, channel, kind, commune, topic, text,
            anonymous, represented, meeting_date, voice_url, urgent, danger,
            supports_question_id, cluster_id, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (q.dialogue_id, receipt, q.user_id, q.channel, q.kind, q.commune, q.topic, q.text,
         int(q.anonymous), q.represented, q.meeting_date, q.voice_url, int(q.urgent), q.danger,
         q.supports_question_id, q.cluster_id, utcnow()),
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


async def enqueue(
    conn: Conn, channel: str, chat_id: str, text: str, purpose: str,
    dedupe_key: str | None = None, priority: int = 0,
) -> bool:
    """Queue a message; False when one with the same dedupe key was queued before."""
    cur = await conn.execute(
        """
        INSERT OR IGNORE INTO outbox (channel, chat_id, text, purpose, dedupe_key, priority,
            created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """,
        (channel, chat_id, text, purpose, dedupe_key, priority, utcnow()),
    )
    return cur.rowcount == 1


async def pending_outbox(conn: Conn, channel: str, limit: int = 100) -> list[OutboxMessage]:
    cur = await conn.execute(
        """
        SELECT id, channel, chat_id, text, purpose, attempts FROM outbox
        WHERE channel = ? AND sent_at IS NULL AND failed_at IS NULL
          AND (not_before IS NULL OR not_before <= ?)
        ORDER BY priority DESC, id LIMIT ?
        """,
        (channel, utcnow(), limit),
    )
    return [
        OutboxMessage(r["id"], r["channel"], r["chat_id"], r["text"], r["purpose"],
                      r["attempts"])
        for r in await cur.fetchall()
    ]


async def mark_outbox_sent(conn: Conn, message_id: int) -> None:
    await conn.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", (utcnow(), message_id))


async def mark_outbox_retry(
    conn: Conn, message_id: int, error: str, not_before: str, give_up: bool
) -> None:
    await conn.execute(
        """
        UPDATE outbox SET attempts = attempts + 1, last_error = ?, not_before = ?,
            failed_at = CASE WHEN ? THEN ? ELSE NULL END
        WHERE id = ?
        """,
        (error[:500], not_before, int(give_up), utcnow(), message_id),
    )
