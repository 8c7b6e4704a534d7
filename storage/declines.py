"""What a refused consent leaves behind, and what she is told about it (handlers.engine).

A commune leader who redeems an invite code and then declines the leader consent is no leader:
her commune goes, and the invite stays spent (used_at) but no longer points at her row, so the
row can go like any decliner's."""

from __future__ import annotations

import aiosqlite

__all__ = ["release_declined_leader", "release_undecided_leaders", "staff_alerted_about"]


async def release_declined_leader(conn: aiosqlite.Connection, user_id: int) -> None:
    """She declined the leader consent: not a leader, the invite spent without her id."""
    await conn.execute("UPDATE users SET leader_commune = NULL WHERE id = ? AND consent_at "
                       "IS NULL", (user_id,))
    await conn.execute("UPDATE leader_invites SET used_by = NULL WHERE used_by = ?", (user_id,))


async def release_undecided_leaders(conn: aiosqlite.Connection, before: str) -> int:
    """Retention (queries.prune_stale): a code redeemed before `before` and never agreed to,
    the conversation gone idle, is a refusal too: she is released like a decliner, so the
    visitor sweep can remove her row. The number released."""
    cur = await conn.execute(
        """
        SELECT id FROM users u WHERE consent_at IS NULL AND leader_commune IS NOT NULL
          AND created_at < ?
          AND NOT EXISTS (SELECT 1 FROM conversations c
                          WHERE c.channel = u.channel AND c.chat_id = u.chat_id)
        """, (before,))
    ids = [row[0] for row in await cur.fetchall()]
    for user_id in ids:
        await release_declined_leader(conn, user_id)
    return len(ids)


async def staff_alerted_about(conn: aiosqlite.Connection, user_id: int) -> bool:
    """True when a danger alert about her was queued for provincial staff (purpose "danger"):
    only then may she be told her danger report went to staff."""
    cur = await conn.execute(
        "SELECT 1 FROM outbox WHERE about_user_id = ? AND purpose = 'danger' LIMIT 1",
        (user_id,))
    return await cur.fetchone() is not None
