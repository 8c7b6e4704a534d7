"""Explicit SQL, one function per question the app asks. Values always go in as parameters.

Every function takes the connection of an open `Database.transaction()`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

import aiosqlite

from . import declines, dedupe
from .clock import stamp
from .rows import first_row, new_id, scalar

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


_one = first_row


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
    """The user for this channel identity, created on first contact (without consent). Her
    display name is kept only once she has consented."""
    row = await _one(conn, ENSURE_USER,
                     ensure_user_params(channel, external_id, chat_id, display_name, now))
    assert row is not None  # RETURNING on an upsert always gives the row
    return _user(row)


# Shared with storage.message, which runs it in the same trip as the delivery claim.
ENSURE_USER = """
    INSERT INTO users (channel, external_id, chat_id, created_at)
    VALUES (?, ?, ?, ?)
    ON CONFLICT (channel, external_id) DO UPDATE SET chat_id = excluded.chat_id,
        display_name = CASE WHEN users.consent_at IS NOT NULL AND users.display_name = ''
                            THEN ? ELSE users.display_name END
    RETURNING *
"""


def ensure_user_params(channel: str, external_id: str, chat_id: str, display_name: str,
                       now: dt.datetime) -> tuple[Any, ...]:
    return (channel, external_id, chat_id, stamp(now), display_name[:100])


async def record_consent(
    conn: Conn, user_id: int, version: str, display_name: str = "", *, now: dt.datetime
) -> None:
    await conn.execute(
        """
        UPDATE users SET consent_at = ?, consent_version = ?, deleted_at = NULL,
            display_name = CASE WHEN ? != '' THEN ? ELSE display_name END
        WHERE id = ?
        """,
        (stamp(now), version, display_name[:100], display_name[:100], user_id),
    )


async def forget_declined_user(conn: Conn, user_id: int) -> bool:
    """She declined consent: remove her row when nothing else needs it, otherwise keep it
    without her name. It is needed when she is a commune leader, has questions, or staff were
    alerted about her (a danger message before consent): staff reach her by "U<id>" through
    this row, and a deleted id could be given to the next newcomer. The caller drops her
    conversation. True when nothing of her is left."""
    await conn.execute("DELETE FROM invite_failures WHERE user_id = ?", (user_id,))
    cur = await conn.execute(
        """
        DELETE FROM users WHERE id = ? AND consent_at IS NULL AND leader_commune IS NULL
          AND NOT EXISTS (SELECT 1 FROM questions WHERE user_id = users.id)
          AND NOT EXISTS (SELECT 1 FROM leader_invites WHERE used_by = users.id)
          AND NOT EXISTS (SELECT 1 FROM outbox WHERE about_user_id = users.id)
        """,
        (user_id,),
    )
    if cur.rowcount == 1:
        return True
    await conn.execute("UPDATE users SET display_name = '' WHERE id = ?", (user_id,))
    return False


async def forget_visitor(conn: Conn, user_id: int) -> bool:
    """Someone who never agreed, at rest after a command (/help, /id): her row goes when
    nothing needs it, as after a refusal; wrong invite codes she typed keep it (the lockout
    must outlive her next message). True when it went."""
    cur = await conn.execute(
        """
        DELETE FROM users WHERE id = ? AND consent_at IS NULL AND leader_commune IS NULL
          AND NOT EXISTS (SELECT 1 FROM questions WHERE user_id = users.id)
          AND NOT EXISTS (SELECT 1 FROM leader_invites WHERE used_by = users.id)
          AND NOT EXISTS (SELECT 1 FROM outbox WHERE about_user_id = users.id)
          AND NOT EXISTS (SELECT 1 FROM invite_failures WHERE user_id = users.id)
        """,
        (user_id,),
    )
    return cur.rowcount == 1


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
    return conversation_of(await _one(conn, GET_CONVERSATION, (channel, chat_id)))


GET_CONVERSATION = (
    "SELECT state, data, offered FROM conversations WHERE channel = ? AND chat_id = ?")


def conversation_of(row: aiosqlite.Row | None) -> Conversation | None:
    if row is None:
        return None
    return Conversation(row["state"], json.loads(row["data"]), json.loads(row["offered"]))


async def save_conversation(
    conn: Conn, channel: str, chat_id: str, state: str, data: dict, offered: list[dict], *,
    now: dt.datetime,
) -> None:
    await conn.execute(SAVE_CONVERSATION,
                       save_conversation_params(channel, chat_id, state, data, offered, now))


SAVE_CONVERSATION = """
    INSERT INTO conversations (channel, chat_id, state, data, offered, updated_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (channel, chat_id) DO UPDATE SET
        state = excluded.state, data = excluded.data,
        offered = excluded.offered, updated_at = excluded.updated_at
"""


def save_conversation_params(channel: str, chat_id: str, state: str, data: dict,
                             offered: list[dict], now: dt.datetime) -> tuple[Any, ...]:
    return (channel, chat_id, state, json.dumps(data, ensure_ascii=False),
            json.dumps(offered, ensure_ascii=False), stamp(now))


async def delete_conversation(conn: Conn, channel: str, chat_id: str) -> None:
    await conn.execute(DELETE_CONVERSATION, (channel, chat_id))


DELETE_CONVERSATION = "DELETE FROM conversations WHERE channel = ? AND chat_id = ?"


# Platforms redeliver within a day (Telegram keeps an update 24 hours); a key older than this is
# a new message that happens to reuse an id (Telegram restarts its ids after a week of silence).
DELIVERY_RETENTION = dt.timedelta(days=3)


async def claim_update(
    conn: Conn, channel: str, bot: str, update_key: str, *, now: dt.datetime
) -> bool:
    """True the first time this bot sees a delivery id; False for a duplicate delivery.

    Keyed per bot, so a new token starting its ids afresh is not a duplicate; an id last seen
    longer ago than DELIVERY_RETENTION is claimed again (a restarted id sequence)."""
    cur = await conn.execute(CLAIM_UPDATE, claim_update_params(channel, bot, update_key, now))
    return cur.rowcount == 1


CLAIM_UPDATE = """
    INSERT INTO processed_updates (channel, bot, update_key, processed_at)
    VALUES (?, ?, ?, ?)
    ON CONFLICT (channel, bot, update_key) DO UPDATE SET processed_at = excluded.processed_at
    WHERE processed_updates.processed_at < ?
"""


def claim_update_params(channel: str, bot: str, update_key: str,
                        now: dt.datetime) -> tuple[Any, ...]:
    return (channel, bot, update_key, stamp(now), stamp(now - DELIVERY_RETENTION))


async def prune_stale(conn: Conn, *, now: dt.datetime,
                      drafts: dt.timedelta = dt.timedelta(days=30)) -> dict[str, int]:
    """Retention for the tables that grow with every sender: delivery ids past the redelivery
    window, conversations (drafts) left idle, and people who wrote once and never consented
    (nothing of theirs is kept: no question, no draft)."""
    removed = {}
    cur = await conn.execute("DELETE FROM processed_updates WHERE processed_at < ?",
                             (stamp(now - DELIVERY_RETENTION),))
    removed["processed_updates"] = cur.rowcount
    cur = await conn.execute("DELETE FROM conversations WHERE updated_at < ?",
                             (stamp(now - drafts),))
    removed["conversations"] = cur.rowcount
    removed["undecided_leaders"] = await declines.release_undecided_leaders(
        conn, stamp(now - drafts))
    cur = await conn.execute(
        """
        DELETE FROM users
        WHERE consent_at IS NULL AND leader_commune IS NULL AND created_at < ?
          AND NOT EXISTS (SELECT 1 FROM questions WHERE questions.user_id = users.id)
          AND NOT EXISTS (SELECT 1 FROM leader_invites WHERE used_by = users.id)
          AND NOT EXISTS (SELECT 1 FROM conversations c
                          WHERE c.channel = users.channel AND c.chat_id = users.chat_id)
        """,
        (stamp(now - drafts),),
    )
    removed["users"] = cur.rowcount
    return removed


# --- questions and clusters --------------------------------------------------------------------


@dataclass(frozen=True)
class Filing:
    """What a question says and how it was asked; who files it, where, and into which cluster
    are the caller's (`NewQuestion`)."""

    kind: str  # "member", "support" or "relay"
    commune: str
    topic: int
    text: str
    anonymous: bool
    represented: int = 1
    meeting_date: str | None = None
    voice_url: str | None = None
    urgent: bool = False
    danger: str | None = None
    supports_question_id: int | None = None


@dataclass(frozen=True)
class NewQuestion:
    dialogue_id: str
    user_id: int
    channel: str
    cluster_id: int
    filing: Filing


async def next_receipt(conn: Conn, dialogue_id: str, code: str) -> str:
    """The next receipt code of a dialogue, e.g. LC27-000123."""
    await conn.execute(
        """
        INSERT INTO receipt_counters (dialogue_id, last) VALUES (?, 1)
        ON CONFLICT (dialogue_id) DO UPDATE SET last = last + 1
        """,
        (dialogue_id,),
    )
    last = await scalar(conn, "SELECT last FROM receipt_counters WHERE dialogue_id = ?",
                        (dialogue_id,))
    return f"{code}-{last:06d}"


async def create_cluster(
    conn: Conn, dialogue_id: str, topic: int, urgent: bool = False, *, now: dt.datetime
) -> int:
    cur = await conn.execute(
        "INSERT INTO clusters (dialogue_id, topic, urgent, created_at) VALUES (?, ?, ?, ?)",
        (dialogue_id, topic, int(urgent), stamp(now)),
    )
    return new_id(cur)


async def insert_question(conn: Conn, q: NewQuestion, receipt: str, *, now: dt.datetime) -> int:
    f = q.filing
    cur = await conn.execute(
        """
        INSERT INTO questions (dialogue_id, receipt, user_id, channel, kind, commune, topic, text,
            anonymous, represented, meeting_date, voice_url, urgent, danger,
            supports_question_id, cluster_id, home_cluster_id, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (q.dialogue_id, receipt, q.user_id, q.channel, f.kind, f.commune, f.topic, f.text,
         int(f.anonymous), f.represented, f.meeting_date, f.voice_url, int(f.urgent), f.danger,
         f.supports_question_id, q.cluster_id, q.cluster_id, stamp(now)),
    )
    if f.urgent:
        await conn.execute("UPDATE clusters SET urgent = 1 WHERE id = ?", (q.cluster_id,))
    return new_id(cur)


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
class Offer:
    """What another member may be shown of a cluster: staff's approved wording, or the first
    shareable question's text (`approved` False), of which the caller shows only the words the
    reader typed herself (handlers.privacy.shared_words), never the text."""

    cluster_id: int
    text: str
    approved: bool
    count: int
    asker_name: str = ""  # her display name, masked in the text too if she wrote it there


# A question another member may read (masked): live, not urgent or danger, not rejected, not
# deleted, not a voice message, holds no sensitive data she consented to separately (health,
# ethnic origin, private life), and its asker has not deleted her data.
_SHAREABLE = """
    r.kind IN ('member', 'relay') AND r.text != '' AND r.rejected_reason IS NULL
    AND r.deleted_at IS NULL AND r.urgent = 0 AND r.danger IS NULL AND r.voice_url IS NULL
    AND r.sensitive IS NULL
    AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id AND u.deleted_at IS NOT NULL)
"""


async def offer_of_cluster(conn: Conn, cluster_id: int, dialogue_id: str,
                           question_id: int | None = None) -> Offer | None:
    """The cluster as a similar-question offer, re-read from the database so a stale matching
    index can never show what must not be shown. None: not offerable (merged, rejected,
    urgent, holds a danger disclosure without a staff wording, or nothing shareable left).
    `question_id`: the wording that matched hers, when it is still shareable (else the first)."""
    row = await _one(
        conn,
        f"""
        SELECT c.public_text, s.text, COALESCE(u.display_name, '') AS asker,
            COALESCE(k.direct + k.relayed, 0) AS total
        FROM clusters c
        LEFT JOIN console_cluster_counts k ON k.cluster_id = c.id
        LEFT JOIN questions s ON s.id = COALESCE(
            (SELECT r.id FROM questions r WHERE r.id = ?3 AND r.cluster_id = c.id
                                            AND {_SHAREABLE}),
            (SELECT r.id FROM questions r WHERE r.cluster_id = c.id AND {_SHAREABLE}
                                          ORDER BY r.id LIMIT 1))
        LEFT JOIN users u ON u.id = s.user_id
        WHERE c.id = ?1 AND c.dialogue_id = ?2 AND c.merged_into IS NULL AND c.urgent = 0
          AND c.status != 'khong_phu_hop'
          AND (c.public_text IS NOT NULL OR NOT EXISTS (
                SELECT 1 FROM questions d WHERE d.cluster_id = c.id AND d.deleted_at IS NULL
                  AND (d.urgent = 1 OR d.danger IS NOT NULL)))
        """,
        (cluster_id, dialogue_id, question_id),
    )
    if row is None:
        return None
    if row["public_text"]:
        return Offer(cluster_id, row["public_text"], True, row["total"])
    if not row["text"]:
        return None
    return Offer(cluster_id, row["text"], False, row["total"], row["asker"])


async def set_cluster_public_text(conn: Conn, cluster_id: int, text: str | None) -> None:
    """Staff's wording other members are shown for this cluster (None: back to masked text)."""
    await conn.execute("UPDATE clusters SET public_text = ? WHERE id = ?", (text, cluster_id))


@dataclass(frozen=True)
class MyQuestion:
    receipt: str
    dialogue_id: str
    kind: str
    topic: int
    text: str  # hers; for a support, staff's wording or another member's text (mask it)
    status: str
    rejected_reason: str | None
    answer: str | None
    answered_by: str | None
    created_at: str
    shared: bool = False  # text is another member's question: the caller masks it
    asker_name: str = ""  # that member's display name, to mask as well
    cluster_id: int = 0
    department: str = ""  # the lead department it was forwarded to ('' if not)
    deadline: str = ""  # ISO date of that department's answer


async def questions_of_user(conn: Conn, user_id: int, limit: int = 20) -> list[MyQuestion]:
    """Her questions and supports, newest first, with the status of their cluster."""
    cur = await conn.execute(
        f"""
        SELECT q.receipt, q.dialogue_id, q.kind, q.topic, q.created_at, q.rejected_reason,
               CASE WHEN q.kind != 'support' THEN q.text
                    ELSE COALESCE(c.public_text, (SELECT r.text FROM questions r
                        WHERE r.id = q.supports_question_id AND {_SHAREABLE}), '')
               END AS text,
               q.kind = 'support' AND c.public_text IS NULL AS shared,
               (SELECT u.display_name FROM questions r JOIN users u ON u.id = r.user_id
                 WHERE r.id = q.supports_question_id) AS asker,
               c.status, c.answer, c.answered_by, q.cluster_id, c.department, c.deadline
        FROM questions q
        JOIN clusters c ON c.id = q.cluster_id
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
            answered_by=r["answered_by"], created_at=r["created_at"], shared=bool(r["shared"]),
            asker_name=r["asker"] or "", cluster_id=r["cluster_id"],
            department=r["department"] or "", deadline=r["deadline"] or "",
        )
        for r in await cur.fetchall()
    ]


async def leader_chats_of_commune(conn: Conn, commune: str) -> list[tuple[str, str]]:
    """(channel, chat id) of every union leader who relays for `commune` (by invite code) and
    has given her consent: a code redeemed and not agreed to makes nobody a leader."""
    cur = await conn.execute(
        "SELECT channel, chat_id FROM users WHERE leader_commune = ? AND deleted_at IS NULL "
        "AND consent_at IS NOT NULL ORDER BY id", (commune,))
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
    return await scalar(conn, "SELECT receipt FROM questions WHERE id = ?", (question_id,))


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
    now: dt.datetime, about_user: int | None = None, not_before: dt.datetime | None = None,
) -> bool:
    """Queue a message; False when one with the same dedupe key was queued before.
    `about_user`: the member it speaks of (a danger alert), so deleting her data finds it.
    `not_before`: not sent before then (a fallback that `cancel_queued` may still withdraw)."""
    cur = await conn.execute(
        """
        INSERT OR IGNORE INTO outbox (channel, chat_id, text, purpose, dedupe_key, priority,
            image, created_at, about_user_id, not_before)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (channel, chat_id, text, purpose, dedupe_key, priority, image, stamp(now), about_user,
         stamp(not_before) if not_before else None),
    )
    return cur.rowcount == 1


REROUTED = "danger_rerouted"


async def reroute_alert(conn: Conn, message_id: int, chats: tuple[str, ...], tell_her: str, *,
                        now: dt.datetime) -> tuple[int, bool]:
    """A danger alert refused for good (the bot removed from the staff group): a copy for each
    of `chats` (staff members' own chats on the same channel, purpose REROUTED). When there
    are none, or the last copy is refused too, `tell_her` goes to the member it is about, on
    her own channel, so that "Hội đã báo…" is corrected. Returns (copies queued, she was told).
    A refused copy is never copied again: no ping-pong between refusing chats."""
    row = await _one(conn, "SELECT channel, text, purpose, priority, about_user_id, dedupe_key "
                           "FROM outbox WHERE id = ?", (message_id,))
    if row is None:
        return 0, False
    original = message_id
    copies = 0
    if row["purpose"] == REROUTED:
        original = int((row["dedupe_key"] or "reroute:0:").split(":")[1])
        if await _one(conn, "SELECT 1 FROM outbox WHERE purpose = ? AND failed_at IS NULL "
                            "AND dedupe_key LIKE ?", (REROUTED, f"reroute:{original}:%")):
            return 0, False  # another staff member's copy is still on its way, or was sent
    else:
        for chat in chats:
            copies += await enqueue(conn, row["channel"], chat, row["text"], REROUTED,
                                    dedupe_key=f"reroute:{message_id}:{chat}",
                                    priority=row["priority"], now=now,
                                    about_user=row["about_user_id"])
    if copies or not tell_her or row["about_user_id"] is None:
        return copies, False
    her = await _one(conn, "SELECT channel, chat_id FROM users WHERE id = ? AND chat_id != ''",
                     (row["about_user_id"],))
    told = her is not None and await enqueue(
        conn, her["channel"], her["chat_id"], tell_her, "hotlines",
        dedupe_key=f"reroute-her:{original}", priority=10, now=now,
        about_user=row["about_user_id"])
    return 0, told


async def cancel_queued(conn: Conn, dedupe_key: str) -> bool:
    """Withdraw a queued message not yet sent (its content reached her another way)."""
    cur = await conn.execute(
        "DELETE FROM outbox WHERE dedupe_key = ? AND sent_at IS NULL", (dedupe_key,))
    return cur.rowcount == 1


async def claim_outbox(
    conn: Conn, channel: str, owner: str, limit: int = 100, *, now: dt.datetime,
    lease: dt.timedelta = dt.timedelta(minutes=10), chat_id: str | None = None,
) -> list[OutboxMessage]:
    """Lease up to `limit` due messages to `owner`, most urgent first.

    A leased row is invisible to every other sender until the lease runs out, so two senders
    on one database (a forced second instance) never both send it. A sender killed mid-batch
    leaves its rows to be sent again once the lease has passed: at least once, never twice
    while the first sender lives.
    """
    cur = await conn.execute(
        """
        UPDATE outbox SET lease_owner = ?, lease_until = ?
        WHERE id IN (
            SELECT id FROM outbox
            WHERE channel = ? AND sent_at IS NULL AND failed_at IS NULL
              AND (not_before IS NULL OR not_before <= ?)
              AND (lease_until IS NULL OR lease_until <= ?)
              AND (? IS NULL OR chat_id = ?)
            ORDER BY priority DESC, id LIMIT ?)
        RETURNING id, channel, chat_id, text, purpose, attempts, image, priority
        """,
        (owner, stamp(now + lease), channel, stamp(now), stamp(now), chat_id, chat_id, limit),
    )
    rows = sorted(await cur.fetchall(), key=lambda r: (-r["priority"], r["id"]))
    return [
        OutboxMessage(r["id"], r["channel"], r["chat_id"], r["text"], r["purpose"],
                      r["attempts"], r["image"])
        for r in rows
    ]


async def outbox_lease_owners(conn: Conn, channel: str, *, now: dt.datetime) -> list[str]:
    """Who holds unexpired leases on unsent rows of a channel."""
    cur = await conn.execute(
        "SELECT DISTINCT lease_owner FROM outbox WHERE channel = ? AND sent_at IS NULL"
        " AND failed_at IS NULL AND lease_owner IS NOT NULL AND lease_until > ?",
        (channel, stamp(now)),
    )
    return [row[0] for row in await cur.fetchall()]


async def release_outbox_leases(conn: Conn, channel: str, owner: str) -> int:
    """Give back the rows `owner` leased (a sender that is known to be dead)."""
    cur = await conn.execute(
        "UPDATE outbox SET lease_owner = NULL, lease_until = NULL"
        " WHERE channel = ? AND lease_owner = ? AND sent_at IS NULL",
        (channel, owner),
    )
    return cur.rowcount


async def renew_outbox_lease(conn: Conn, message_id: int, owner: str, *, now: dt.datetime,
                             lease: dt.timedelta) -> bool:
    """Extend `owner`'s lease on a row just before sending it; False if the lease was lost (it
    ran out and another sender took the row, or it was sent): then it must not be sent."""
    cur = await conn.execute(
        "UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_owner = ? AND sent_at IS NULL"
        " AND lease_until > ?",
        (stamp(now + lease), message_id, owner, stamp(now)),
    )
    return cur.rowcount == 1


async def mark_outbox_sent(conn: Conn, message_id: int, owner: str, *, now: dt.datetime) -> bool:
    """Record a send; False if the lease was lost meanwhile (then another sender has it)."""
    cur = await conn.execute(
        "UPDATE outbox SET sent_at = ?, lease_until = NULL WHERE id = ? AND lease_owner = ?",
        (stamp(now), message_id, owner),
    )
    return cur.rowcount == 1


async def mark_outbox_retry(
    conn: Conn, message_id: int, error: str, not_before: str, give_up: bool, *, now: dt.datetime,
    rest: str | None = None,
) -> None:
    """`rest`: the part of a long message not yet sent, which is all that goes next time."""
    await conn.execute(
        """
        UPDATE outbox SET attempts = attempts + 1, last_error = ?, not_before = ?,
            failed_at = CASE WHEN ? THEN ? ELSE NULL END, lease_owner = NULL, lease_until = NULL,
            text = COALESCE(?, text)
        WHERE id = ?
        """,
        (error[:500], not_before, int(give_up), stamp(now), rest, message_id),
    )


# --- staff changes to clusters -----------------------------------------------------------------


async def set_cluster_status(conn: Conn, cluster_id: int, status: str) -> None:
    await conn.execute("UPDATE clusters SET status = ? WHERE id = ?", (status, cluster_id))


async def set_cluster_topic(conn: Conn, cluster_id: int, topic: int) -> None:
    await conn.execute("UPDATE clusters SET topic = ? WHERE id = ?", (topic, cluster_id))
    await conn.execute("UPDATE questions SET topic = ? WHERE cluster_id = ?", (topic, cluster_id))


async def toggle_cluster_urgent(conn: Conn, cluster_id: int) -> bool:
    await conn.execute("UPDATE clusters SET urgent = 1 - urgent WHERE id = ?", (cluster_id,))
    return bool(await scalar(conn, "SELECT urgent FROM clusters WHERE id = ?", (cluster_id,)))


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


@dataclass(frozen=True)
class AnswerRevision:
    """One version of a cluster's answer: 1 is the first answer, each correction adds one."""

    id: int
    cluster_id: int
    revision: int
    answer: str
    agency: str
    recorded_by: str
    recorded_at: str


def _revision(row: aiosqlite.Row) -> AnswerRevision:
    return AnswerRevision(row["id"], row["cluster_id"], row["revision"], row["answer"],
                          row["agency"], row["recorded_by"], row["recorded_at"])


async def current_answer(conn: Conn, cluster_id: int) -> AnswerRevision | None:
    """The latest revision of the cluster's answer, or None while it has none."""
    row = await _one(
        conn, "SELECT * FROM answer_revisions WHERE cluster_id = ? ORDER BY revision DESC LIMIT 1",
        (cluster_id,))
    return _revision(row) if row else None


async def record_answer(
    conn: Conn, cluster_id: int, answer: str, agency: str, recorded_by: str, *, now: dt.datetime
) -> AnswerRevision:
    """Add the next revision of the cluster's answer and make it the cluster's current one."""
    row = await _one(
        conn,
        """
        INSERT INTO answer_revisions (cluster_id, revision, answer, agency, recorded_by,
            recorded_at)
        VALUES (?, (SELECT COALESCE(MAX(revision), 0) + 1 FROM answer_revisions
                    WHERE cluster_id = ?), ?, ?, ?, ?)
        RETURNING *
        """,
        (cluster_id, cluster_id, answer, agency, recorded_by, stamp(now)),
    )
    assert row is not None  # RETURNING on an insert always gives the row
    await conn.execute(
        """
        UPDATE clusters SET answer = ?, answered_by = ?, answered_at = ?, status = 'da_tra_loi'
        WHERE id = ?
        """,
        (answer, agency, stamp(now), cluster_id),
    )
    return _revision(row)


@dataclass(frozen=True)
class AnswerSender:
    """A question in a cluster whose sender is to know the cluster's answer."""

    question_id: int
    receipt: str
    user_id: int
    channel: str
    chat_id: str
    told: bool  # already sent the revision asked about
    last_notice: int  # latest notice of any answer sent for this question, 0 if none
    last_answer: str | None  # the answer of that notice: what she knows now


async def who_should_know_the_answer(
    conn: Conn, cluster_id: int, revision_id: int | None
) -> list[AnswerSender]:
    """Askers, supporters and relaying leaders of a cluster, whether each was sent the given
    revision, and the answer each was sent last (in this cluster or one merged away)."""
    rows = await conn.execute_fetchall(
        """
        SELECT q.id, q.receipt, q.channel, q.user_id, u.chat_id,
               EXISTS (SELECT 1 FROM answer_notices n
                       WHERE n.question_id = q.id AND n.revision_id = ?) AS told,
               last.id AS last_notice, r.answer AS last_answer
        FROM questions q
        JOIN users u ON u.id = q.user_id
        LEFT JOIN answer_notices last ON last.id = (
            SELECT MAX(n.id) FROM answer_notices n WHERE n.question_id = q.id)
        LEFT JOIN answer_revisions r ON r.id = last.revision_id
        WHERE q.cluster_id = ? AND q.deleted_at IS NULL AND u.deleted_at IS NULL
          AND q.rejected_reason IS NULL AND u.chat_id != ''
        ORDER BY q.id
        """,
        (revision_id, cluster_id),
    )
    return [
        AnswerSender(r["id"], r["receipt"], r["user_id"], r["channel"], r["chat_id"],
                     bool(r["told"]), r["last_notice"] or 0, r["last_answer"])
        for r in rows
    ]


async def record_answer_notice(
    conn: Conn, question_id: int, revision_id: int, *, now: dt.datetime
) -> None:
    """Her question's sender has been sent this revision (queued in the same transaction)."""
    await conn.execute(
        "INSERT OR IGNORE INTO answer_notices (question_id, revision_id, told_at) "
        "VALUES (?, ?, ?)",
        (question_id, revision_id, stamp(now)),
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
    """Split: the question (and its supporters) now belong to `cluster_id`, as if first asked
    there (home_cluster_id: see migration 0005)."""
    await conn.execute(
        """
        UPDATE questions SET cluster_id = ?, home_cluster_id = ?
        WHERE id = ? OR supports_question_id = ?
        """,
        (cluster_id, cluster_id, question_id, question_id),
    )


# Questions the matcher indexes: wordings (member questions, leaders' relays) with text, not
# rejected, in a live cluster that is neither rejected nor urgent (an urgent cluster holds a
# danger disclosure: never offered to another member, never joined without staff).
_INDEXABLE = """
SELECT q.id, q.dialogue_id, q.text, q.topic, q.cluster_id,
       COALESCE(q.home_cluster_id, q.cluster_id) AS home_cluster_id
FROM questions q JOIN clusters c ON c.id = q.cluster_id
WHERE q.kind IN ('member', 'relay') AND q.text != '' AND q.voice_url IS NULL
  AND q.rejected_reason IS NULL AND c.merged_into IS NULL AND c.urgent = 0
  AND c.status != 'khong_phu_hop'
"""


async def indexable_questions(conn: Conn, cluster_id: int | None = None) -> list[aiosqlite.Row]:
    """What the matcher should hold, of one cluster or (None) of every dialogue, by id."""
    cur = await conn.execute(
        _INDEXABLE + " AND (? IS NULL OR q.cluster_id = ?) ORDER BY q.id",
        (cluster_id, cluster_id),
    )
    return list(await cur.fetchall())


async def live_questions_of_user(conn: Conn, user_id: int) -> list[tuple[int, str]]:
    """(question id, dialogue id) of her questions whose text is still stored."""
    cur = await conn.execute(
        "SELECT id, dialogue_id FROM questions WHERE user_id = ? AND deleted_at IS NULL",
        (user_id,),
    )
    return [(r["id"], r["dialogue_id"]) for r in await cur.fetchall()]


# --- possible duplicates (staff confirm or refuse; bot.matching review_threshold) ----------


@dataclass(frozen=True)
class DuplicateCandidate:
    id: int
    dialogue_id: str
    cluster_id: int
    similar_to: int
    score: float


async def record_duplicate_candidate(conn: Conn, dialogue_id: str, cluster_id: int,
                                     similar_to: int, score: float, *,
                                     now: dt.datetime) -> bool:
    """Propose a pair once (a refused pair is never proposed again); True if new."""
    cur = await conn.execute(
        """
        INSERT OR IGNORE INTO duplicate_candidates
            (dialogue_id, cluster_id, similar_to, score, created_at)
        VALUES (?, ?, ?, ?, ?)
        """,
        (dialogue_id, cluster_id, similar_to, score, stamp(now)),
    )
    return cur.rowcount == 1


_OPEN_CANDIDATES = """
SELECT d.id, d.dialogue_id, d.cluster_id, d.similar_to, d.score
FROM duplicate_candidates d
JOIN clusters a ON a.id = d.cluster_id
JOIN clusters b ON b.id = d.similar_to
WHERE d.status = 'open' AND a.merged_into IS NULL AND b.merged_into IS NULL
  AND a.status != 'khong_phu_hop' AND b.status != 'khong_phu_hop'
"""


def _candidate(row: aiosqlite.Row) -> DuplicateCandidate:
    return DuplicateCandidate(row["id"], row["dialogue_id"], row["cluster_id"],
                              row["similar_to"], row["score"])


async def open_duplicate_candidates(conn: Conn, dialogue_id: str,
                                    limit: int = 5) -> list[DuplicateCandidate]:
    """Undecided pairs whose two clusters are both still live, closest first."""
    cur = await conn.execute(
        _OPEN_CANDIDATES + " AND d.dialogue_id = ? ORDER BY d.score DESC, d.id LIMIT ?",
        (dialogue_id, limit),
    )
    return [_candidate(r) for r in await cur.fetchall()]


async def open_duplicate_candidate(conn: Conn, candidate_id: int) -> DuplicateCandidate | None:
    row = await _one(conn, _OPEN_CANDIDATES + " AND d.id = ?", (candidate_id,))
    return _candidate(row) if row else None


async def decide_duplicate_candidate(conn: Conn, candidate_id: int, merged: bool, *,
                                     now: dt.datetime) -> None:
    await conn.execute(
        "UPDATE duplicate_candidates SET status = ?, decided_at = ? WHERE id = ?",
        ("merged" if merged else "refused", stamp(now), candidate_id),
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
    conn: Conn, code: str, commune: str, created_by: str, *, now: dt.datetime,
    expires: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO leader_invites (code, commune, created_by, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (code, commune, created_by, stamp(now), stamp(expires)),
    )


async def redeem_invite(conn: Conn, code: str, user_id: int, *, now: dt.datetime) -> str | None:
    """The invite's commune if the code exists, is unused and has not expired; it is used up
    by this call. A code made before codes expired (no expires_at) no longer works."""
    row = await _one(
        conn,
        """
        UPDATE leader_invites SET used_by = ?, used_at = ?
        WHERE code = ? AND used_at IS NULL AND expires_at > ?
        RETURNING commune
        """,
        (user_id, stamp(now), code, stamp(now)),
    )
    return row["commune"] if row else None


async def invite_expired(conn: Conn, code: str, *, now: dt.datetime) -> bool:
    """True for an unused code whose time has passed (so she can be told to ask for a new one)."""
    row = await _one(
        conn,
        "SELECT 1 FROM leader_invites WHERE code = ? AND used_at IS NULL "
        "AND (expires_at IS NULL OR expires_at <= ?)",
        (code, stamp(now)),
    )
    return row is not None


async def invite_locked_until(conn: Conn, user_id: int, *, now: dt.datetime) -> str | None:
    """When this user may try invite codes again, or None when she may now."""
    row = await _one(
        conn, "SELECT locked_until FROM invite_failures WHERE user_id = ? AND locked_until > ?",
        (user_id, stamp(now)),
    )
    return row["locked_until"] if row else None


async def record_invite_failure(
    conn: Conn, user_id: int, max_failures: int, lock: dt.timedelta, *, now: dt.datetime
) -> bool:
    """Count a wrong code; after `max_failures` within `lock`, lock her out for `lock`.
    True when this failure locked her."""
    row = await _one(conn, "SELECT failures, first_at FROM invite_failures WHERE user_id = ?",
                     (user_id,))
    fresh = row is None or row["first_at"] <= stamp(now - lock)
    failures = 1 if fresh or row is None else row["failures"] + 1
    locked = failures >= max_failures
    await conn.execute(
        """
        INSERT INTO invite_failures (user_id, failures, first_at, locked_until)
        VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (user_id) DO UPDATE SET failures = ?2,
            first_at = CASE WHEN ?5 THEN ?3 ELSE first_at END, locked_until = ?4
        """,
        (user_id, 0 if locked else failures, stamp(now),
         stamp(now + lock) if locked else None, int(fresh)),
    )
    return locked


async def clear_invite_failures(conn: Conn, user_id: int) -> None:
    await conn.execute("DELETE FROM invite_failures WHERE user_id = ?", (user_id,))


@dataclass(frozen=True)
class CommuneQuestion:
    receipt: str
    kind: str
    text: str
    represented: int
    status: str
    asker_name: str = ""  # a member's display name, masked in her text when shown


_STATUS = "CASE WHEN q.rejected_reason IS NOT NULL THEN 'khong_phu_hop' ELSE c.status END"


async def relays_of_leader(conn: Conn, user_id: int, commune: str,
                           limit: int = 40) -> list[CommuneQuestion]:
    """What this leader relayed for her commune, newest first, with status."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT q.receipt, q.kind, q.text, q.represented, {_STATUS} AS status
        FROM questions q JOIN clusters c ON c.id = q.cluster_id
        WHERE q.user_id = ? AND q.commune = ? AND q.kind = 'relay' AND q.deleted_at IS NULL
        ORDER BY q.id DESC LIMIT ?
        """,
        (user_id, commune, limit),
    )
    return [CommuneQuestion(r["receipt"], r["kind"], r["text"], r["represented"], r["status"])
            for r in rows]


async def member_counts_of_commune(conn: Conn, commune: str) -> dict[str, int]:
    """How many members' own questions from a commune are in each status (no texts)."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT {_STATUS} AS status, COUNT(*) AS n
        FROM questions q JOIN clusters c ON c.id = q.cluster_id
        WHERE q.commune = ? AND q.kind = 'member' AND q.deleted_at IS NULL
        GROUP BY 1
        """,
        (commune,),
    )
    return {r["status"]: r["n"] for r in rows}


async def shareable_questions_of_commune(conn: Conn, commune: str,
                                         limit: int = 40) -> list[CommuneQuestion]:
    """Members' questions a leader may read (masked by the caller) when config allows it:
    named, in a cluster not urgent, and shareable (not urgent, danger, rejected, deleted)."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT r.kind, r.text, r.represented, c.status, COALESCE(u.display_name, '') AS asker
        FROM questions r JOIN clusters c ON c.id = r.cluster_id
        LEFT JOIN users u ON u.id = r.user_id
        WHERE r.commune = ? AND r.kind = 'member' AND r.anonymous = 0 AND c.urgent = 0
          AND {_SHAREABLE}
        ORDER BY r.id DESC LIMIT ?
        """,
        (commune, limit),
    )
    return [CommuneQuestion("", r["kind"], r["text"], r["represented"], r["status"],
                            r["asker"]) for r in rows]


# --- personal data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Deleted:
    questions: int
    outbox: int


def _unchanged(text: str) -> str:
    return text


Mask = Callable[[str], str]


async def delete_user_data(
    conn: Conn, user_id: int, *, now: dt.datetime, masked: Mask = _unchanged, scrubbed: str = "",
) -> Deleted:
    """Erase a member's identity and the text of her questions everywhere it was copied: her
    questions, messages to her (unsent ones dropped, sent ones emptied), alerts and digests
    about her (her words replaced by `scrubbed`), other members' conversations (an offer of her
    question). The question rows stay, anonymous and empty, so cluster counts keep counting her.
    `masked` is how her text was shown masked (handlers.privacy.mask_pii), so that copy is found
    too. The caller checkpoints the WAL after the commit (`Database.checkpoint`)."""
    questions, texts = await _erase_questions(conn, user_id, now=now)
    user = await user_by_id(conn, user_id)
    outbox = 0
    if user is not None and user.chat_id:
        cur = await conn.execute(
            "DELETE FROM outbox WHERE channel = ? AND chat_id = ? AND sent_at IS NULL",
            (user.channel, user.chat_id),
        )
        outbox = cur.rowcount
        await conn.execute(
            """
            UPDATE outbox SET chat_id = '', text = '', image = NULL, last_error = NULL,
                dedupe_key = CASE WHEN instr(dedupe_key, ?) > 0 OR instr(dedupe_key, ?) > 0
                                  THEN 'erased:' || id ELSE dedupe_key END
            WHERE channel = ? AND chat_id = ?
            """,
            (user.chat_id, await dedupe.recipient_token(conn, user.channel, user.chat_id),
             user.channel, user.chat_id),
        )
        await conn.execute(
            "DELETE FROM conversations WHERE channel = ? AND chat_id = ?",
            (user.channel, user.chat_id),
        )
        # An alert written while the database refused her message names her only by
        # "<channel>:<chat id>" (it could not link her row): it is about her, words and all
        # (red-team pass 4, F9).
        contact = re.compile(re.escape(f"{user.channel}:{user.chat_id}") + r"(?![\w-])")
        for row in await conn.execute_fetchall(
                "SELECT id, text FROM outbox WHERE instr(text, ?) > 0",
                (f"{user.channel}:{user.chat_id}",)):
            if contact.search(row["text"]):  # not another chat whose id starts with hers
                await conn.execute("UPDATE outbox SET text = ?, last_error = NULL WHERE id = ?",
                                   (scrubbed, row["id"]))
    await _scrub_alerts_about(conn, user_id, scrubbed, unlink=True)
    await _forget_texts(conn, texts, masked, scrubbed)
    await conn.execute("DELETE FROM invite_failures WHERE user_id = ?", (user_id,))
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


async def _erase_questions(
    conn: Conn, user_id: int, *, now: dt.datetime, ids: Sequence[int] | None = None
) -> tuple[int, list[str]]:
    """Empty the text and voice link of her questions (all, or only `ids`), make them anonymous
    and deleted; the rows stay so cluster counts keep counting her. (rows changed, the texts
    they held), so the caller can find every copy of those texts."""
    only = json.dumps(list(ids)) if ids is not None else None
    rows = await conn.execute_fetchall(
        "SELECT text FROM questions WHERE user_id = ? AND text != '' "
        "AND (?2 IS NULL OR id IN (SELECT value FROM json_each(?2)))", (user_id, only))
    cur = await conn.execute(
        """
        UPDATE questions SET text = '', voice_url = NULL, anonymous = 1,
            deleted_at = COALESCE(deleted_at, ?1)
        WHERE user_id = ?2 AND (deleted_at IS NULL OR text != '' OR voice_url IS NOT NULL)
          AND (?3 IS NULL OR id IN (SELECT value FROM json_each(?3)))
        """,
        (stamp(now), user_id, only),
    )
    return cur.rowcount, [r["text"] for r in rows]


async def _scrub_alerts_about(conn: Conn, user_id: int, scrubbed: str, *, unlink: bool) -> int:
    """Danger alerts and urgent notices about her (sent or not): her words replaced by
    `scrubbed`. `unlink` also forgets whom they were about (her identity is going)."""
    cur = await conn.execute(
        "UPDATE outbox SET text = ?, last_error = NULL, "
        "about_user_id = CASE WHEN ? THEN NULL ELSE about_user_id END "
        "WHERE about_user_id = ? AND (? OR text != ?)",
        (scrubbed, int(unlink), user_id, int(unlink), scrubbed),
    )
    return cur.rowcount


# Copies of a question's text elsewhere are whole, or cut where the bot shortens it: a danger
# alert keeps 600 characters, a digest line 99.
_CUTS = (None, 600, 160, 99)
_SHORTEST_NEEDLE = 12  # shorter pieces could match other women's words


async def _forget_texts(conn: Conn, texts: list[str], masked: Mask, scrubbed: str) -> None:
    """Remove these texts (as written, masked, shortened) from the outbox and from every
    conversation's saved data and options."""
    forms = {form[:cut] for text in texts for form in (text, masked(text)) for cut in _CUTS}
    needles = sorted((f for f in forms if len(f.strip()) >= _SHORTEST_NEEDLE), key=len,
                     reverse=True)
    if not needles:
        return
    # Copies cut at any other length, or with her line breaks joined (a reminder, a future
    # format): found by runs of her words, then every stretch they share with hers goes.
    await _forget_copies(conn, [w for text in texts for w in (text, masked(text))], scrubbed)
    if len(needles) > _SQL_NEEDLES:  # a whole dialogue (purge): one pass over each table
        await _forget_in_one_pass(conn, needles, scrubbed)
        return
    for needle in needles:  # one member: a few scans inside SQLite beat reading every row
        await conn.execute(
            "UPDATE outbox SET text = replace(text, ?, ?) WHERE instr(text, ?) > 0",
            (needle, scrubbed, needle),
        )
        await conn.execute(
            """
            UPDATE conversations
            SET data = replace(data, ?1, ''), offered = replace(offered, ?1, '')
            WHERE instr(data, ?1) > 0 OR instr(offered, ?1) > 0
            """,
            (_in_json(needle),),
        )


_SQL_NEEDLES = 24
_PROBE_WORDS = 4  # a copy holding this many of her words in a row is found
_GAP = 3  # stretches of hers this close in a copy go as one (a space, a comma, "…")
_COPY_MIN = 20  # a shorter stretch in common is a turn of phrase ("em muốn hỏi về"), not hers
_WHITESPACE = re.compile(r"\s")


def _flat(text: str) -> str:
    """Every whitespace character a space: same length, so positions map back."""
    return _WHITESPACE.sub(" ", text)


def _probes(forms: Iterable[str]) -> dict[str, set[int]]:
    """Runs of `_PROBE_WORDS` words (every second start) of each form: probe -> forms."""
    probes: dict[str, set[int]] = defaultdict(set)
    for n, form in enumerate(forms):
        words = form.split()
        starts = range(0, max(1, len(words) - _PROBE_WORDS + 1), 2)
        for i in starts:
            piece = " ".join(words[i : i + _PROBE_WORDS])
            if len(piece) >= _SHORTEST_NEEDLE:
                probes[piece].add(n)
    return probes


def _shared_stretches(text: str, forms: Iterable[str]) -> list[tuple[int, int]]:
    """Where `text` holds a stretch of at least `_COPY_MIN` characters of one of `forms`
    (whitespace aside), sorted."""
    flat = _flat(text)
    return sorted(
        (b.a, b.a + b.size)
        for form in forms
        for b in SequenceMatcher(None, flat, " ".join(form.split()),
                                 autojunk=False).get_matching_blocks()
        if b.size >= _COPY_MIN)


def _scrub_copies(text: str, forms: Iterable[str], scrubbed: str) -> str:
    """`text` with every stretch of at least `_COPY_MIN` characters it shares with one of
    `forms` (whitespace aside) replaced by `scrubbed`."""
    forms = list(forms)
    for _ in range(3):  # a second copy of hers in the same message is found on the next turn
        spans = _shared_stretches(text, forms)
        if not spans:
            return text
        merged = [list(spans[0])]
        for start, end in spans[1:]:
            if start <= merged[-1][1] + _GAP:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        pieces, at = [], 0
        for start, end in merged:
            pieces += [text[at:start], scrubbed]
            at = end
        text = "".join(pieces) + text[at:]
    return text


async def _forget_copies(conn: Conn, forms: list[str], scrubbed: str) -> None:
    probes = _probes(forms)
    if not probes:
        return
    hits: dict[int, set[int]] = defaultdict(set)  # outbox row -> forms it holds runs of
    texts: dict[int, str] = {}
    if len(probes) <= 200:  # one member: SQLite scans for them
        flat_sql = "replace(replace(replace(text, char(10), ' '), char(13), ' '), char(9), ' ')"
        items = list(probes.items())
        for i in range(0, len(items), 50):
            chunk = items[i : i + 50]
            rows = await conn.execute_fetchall(
                f"SELECT id, text, {flat_sql} AS flat FROM outbox WHERE text != '' AND ("
                + " OR ".join(f"instr({flat_sql}, ?) > 0" for _ in chunk) + ")",
                [probe for probe, _ in chunk])
            for row in rows:
                texts[row["id"]] = row["text"]
                for probe, owners in chunk:
                    if probe in row["flat"]:
                        hits[row["id"]] |= owners
    else:  # a whole dialogue: one pass over the outbox
        finder = _Needles(list(probes))
        for row in await conn.execute_fetchall("SELECT id, text FROM outbox WHERE text != ''"):
            for probe in finder.found(_flat(row["text"])):
                texts[row["id"]] = row["text"]
                hits[row["id"]] |= probes[probe]
    for row_id, owners in hits.items():
        text = _scrub_copies(texts[row_id], [forms[n] for n in owners], scrubbed)
        if text != texts[row_id]:
            await conn.execute("UPDATE outbox SET text = ? WHERE id = ?", (text, row_id))
    # A cluster's staff wording pasted from her question (red-team pass 5, F2): other members
    # read it, so it goes whole; staff write a new one.
    finder = _Needles(list(probes))
    for row in await conn.execute_fetchall(
            "SELECT id, public_text FROM clusters WHERE public_text IS NOT NULL"):
        owners = {n for p in finder.found(_flat(row["public_text"])) for n in probes[p]}
        if owners and _shared_stretches(row["public_text"], [forms[n] for n in owners]):
            await conn.execute("UPDATE clusters SET public_text = NULL WHERE id = ?",
                               (row["id"],))


def _in_json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]  # as it sits inside a JSON string


async def _forget_in_one_pass(conn: Conn, needles: list[str], scrubbed: str) -> None:
    plain = _Needles(needles)
    escaped = _Needles([_in_json(n) for n in needles])
    for row in await conn.execute_fetchall("SELECT id, text FROM outbox WHERE text != ''"):
        text = plain.replace(row["text"], scrubbed)
        if text != row["text"]:
            await conn.execute("UPDATE outbox SET text = ? WHERE id = ?", (text, row["id"]))
    for row in await conn.execute_fetchall(
            "SELECT channel, chat_id, data, offered FROM conversations"):
        data, offered = escaped.replace(row["data"], ""), escaped.replace(row["offered"], "")
        if (data, offered) != (row["data"], row["offered"]):
            await conn.execute(
                "UPDATE conversations SET data = ?, offered = ? WHERE channel = ? AND chat_id = ?",
                (data, offered, row["channel"], row["chat_id"]),
            )


class _Needles:
    """Many strings found in one left-to-right pass: each position is looked up by the
    fixed-length prefix every needle has, then the needles with that prefix are tried,
    longest first."""

    def __init__(self, needles: list[str]) -> None:
        self.width = min(len(n) for n in needles)
        self.by_prefix: dict[str, list[str]] = {}
        for needle in sorted(needles, key=len, reverse=True):
            self.by_prefix.setdefault(needle[: self.width], []).append(needle)

    def found(self, text: str) -> set[str]:
        """The needles that occur in `text`."""
        return {n for i in range(len(text) - self.width + 1)
                for n in self.by_prefix.get(text[i : i + self.width], ())
                if text.startswith(n, i)}

    def replace(self, text: str, replacement: str) -> str:
        pieces, start, i = [], 0, 0
        while i + self.width <= len(text):
            found = next((n for n in self.by_prefix.get(text[i : i + self.width], ())
                          if text.startswith(n, i)), None)
            if found is None:
                i += 1
                continue
            pieces += [text[start:i], replacement]
            i = start = i + len(found)
        return "".join(pieces) + text[start:] if pieces else text


@dataclass(frozen=True)
class Purged:
    questions: int
    users: int


async def purge_dialogue(
    conn: Conn, dialogue_id: str, *, now: dt.datetime, masked: Mask = _unchanged,
    scrubbed: str = "",
) -> Purged:
    """Remove personal data of a closed dialogue: texts, voice links and who asked, every copy
    of them (outbox, conversations), drafts for it, and the askers themselves when they have
    nothing live in another dialogue. Counts, communes, topics and the departments' answers
    stay for the records. The caller checkpoints the WAL after the commit."""
    rows = await conn.execute_fetchall(
        "SELECT text FROM questions WHERE dialogue_id = ? AND text != ''", (dialogue_id,))
    texts = [r["text"] for r in rows]
    askers = [r["user_id"] for r in await conn.execute_fetchall(
        """
        SELECT DISTINCT q.user_id FROM questions q
        WHERE q.dialogue_id = ? AND q.user_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM questions o WHERE o.user_id = q.user_id
                            AND o.dialogue_id != q.dialogue_id AND o.deleted_at IS NULL)
        """,
        (dialogue_id,),
    )]
    cur = await conn.execute(
        """
        UPDATE questions SET text = '', voice_url = NULL, user_id = NULL, anonymous = 1,
            deleted_at = COALESCE(deleted_at, ?)
        WHERE dialogue_id = ? AND (text != '' OR user_id IS NOT NULL OR voice_url IS NOT NULL)
        """,
        (stamp(now), dialogue_id),
    )
    questions = cur.rowcount
    await conn.execute(
        "DELETE FROM conversations WHERE json_extract(data, '$.dialogue') = ?", (dialogue_id,))
    await _forget_texts(conn, texts, masked, scrubbed)
    for user_id in askers:
        await delete_user_data(conn, user_id, now=now, masked=masked, scrubbed=scrubbed)
    return Purged(questions, len(askers))


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


# --- sensitive data (Law 91/2025/QH15) ---------------------------------------------------------


async def record_sensitive_consent(
    conn: Conn, question_id: int, kinds: Sequence[str], version: str, *, now: dt.datetime
) -> None:
    """She agreed, separately, that this question's sensitive data (`kinds`) may be kept:
    which consent text (its version) and when."""
    await conn.execute(
        """
        UPDATE questions SET sensitive = ?, sensitive_consent_version = ?,
            sensitive_consent_at = ?, sensitive_withdrawn_at = NULL
        WHERE id = ?
        """,
        (",".join(kinds), version, stamp(now), question_id),
    )


async def erase_question_text(conn: Conn, question_id: int) -> None:
    """An urgent question stored at her danger disclosure, whose sensitive consent she then
    declined: its words and voice link go; the row stays as the case staff reach her by."""
    await conn.execute(
        "UPDATE questions SET text = '', voice_url = NULL WHERE id = ?", (question_id,))


@dataclass(frozen=True)
class OwnQuestion:
    id: int
    receipt: str
    text: str
    sensitive: str | None  # kinds she consented to, None when none were asked
    danger: str | None


async def own_questions_with_text(conn: Conn, user_id: int) -> list[OwnQuestion]:
    """Her own questions (not supports, not relays) whose text is still kept, oldest first."""
    rows = await conn.execute_fetchall(
        """
        SELECT id, receipt, text, sensitive, danger FROM questions
        WHERE user_id = ? AND kind = 'member' AND deleted_at IS NULL AND text != ''
        ORDER BY id
        """,
        (user_id,),
    )
    return [OwnQuestion(r["id"], r["receipt"], r["text"], r["sensitive"], r["danger"])
            for r in rows]


@dataclass(frozen=True)
class Withdrawn:
    questions: int
    alerts: int


async def withdraw_sensitive_consent(
    conn: Conn, user_id: int, question_ids: Sequence[int], *, now: dt.datetime,
    masked: Mask = _unchanged, scrubbed: str = "",
) -> Withdrawn:
    """She withdrew her sensitive-data consent: these questions are erased exactly as
    `delete_user_data` erases hers (texts and every copy: outbox, digests, other members'
    conversations), and so are the danger alerts about her (violence is sensitive data). Her
    other questions and her identity stay. The caller checkpoints the WAL after the commit."""
    questions, texts = await _erase_questions(conn, user_id, now=now, ids=question_ids)
    await conn.execute(
        "UPDATE questions SET sensitive_withdrawn_at = ? WHERE user_id = ? "
        "AND id IN (SELECT value FROM json_each(?))",
        (stamp(now), user_id, json.dumps(list(question_ids))),
    )
    alerts = await _scrub_alerts_about(conn, user_id, scrubbed, unlink=False)
    await _forget_texts(conn, texts, masked, scrubbed)
    return Withdrawn(questions, alerts)


async def alerts_about(conn: Conn, user_id: int, scrubbed: str) -> int:
    """How many danger alerts or urgent notices about her still hold their words."""
    row = await _one(conn, "SELECT COUNT(*) AS n FROM outbox WHERE about_user_id = ? "
                           "AND text != ?", (user_id, scrubbed))
    return row["n"] if row else 0


# --- the database itself: migrations, a ping, what a restore redoes ----------------------------


async def applied_migrations(conn: Conn) -> list[str]:
    rows = await conn.execute_fetchall("SELECT name FROM schema_migrations ORDER BY name")
    return [row[0] for row in rows]


async def ping(conn: Conn) -> None:
    """The database answers (a health check): no data read."""
    await conn.execute_fetchall("SELECT 1")


async def live_users(conn: Conn) -> list[aiosqlite.Row]:
    """Users not deleted: id, created_at, consent_at (a restore compares them with today's)."""
    return list(await conn.execute_fetchall(
        "SELECT id, created_at, consent_at FROM users WHERE deleted_at IS NULL"))


async def questions_with_content(conn: Conn) -> list[aiosqlite.Row]:
    """Questions that still hold words or a voice message: id, created_at."""
    return list(await conn.execute_fetchall(
        "SELECT id, created_at FROM questions WHERE text != '' OR voice_url IS NOT NULL"))
