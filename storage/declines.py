"""What a refused consent leaves behind, and what she is told about it (handlers.engine).

A commune leader who redeems an invite code and then declines the leader consent is no leader:
her commune goes, and the invite stays spent (used_at) but no longer points at her row, so the
row can go like any decliner's."""

from __future__ import annotations

import aiosqlite

__all__ = ["release_declined_leader", "staff_alerted_about"]


async def release_declined_leader(conn: aiosqlite.Connection, user_id: int) -> None:
    """She declined the leader consent: not a leader, the invite spent without her id."""
    await conn.execute("UPDATE users SET leader_commune = NULL WHERE id = ? AND consent_at "
                       "IS NULL", (user_id,))
    await conn.execute("UPDATE leader_invites SET used_by = NULL WHERE used_by = ?", (user_id,))


async def staff_alerted_about(conn: aiosqlite.Connection, user_id: int) -> bool:
    """True when a danger alert about her was queued for provincial staff (purpose "danger"):
    only then may she be told her danger report went to staff."""
    cur = await conn.execute(
        "SELECT 1 FROM outbox WHERE about_user_id = ? AND purpose = 'danger' LIMIT 1",
        (user_id,))
    return await cur.fetchone() is not None
