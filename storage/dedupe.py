"""Outbox dedupe keys that name a recipient without her chat id (migration 0016)."""

from __future__ import annotations

import hashlib
import hmac

import aiosqlite

__all__ = ["recipient_token"]


async def recipient_token(conn: aiosqlite.Connection, channel: str, chat_id: str) -> str:
    """A keyed hash of (channel, chat id): the same recipient gives the same token in this
    installation, and the token alone does not give her id."""
    cur = await conn.execute("SELECT value FROM dedupe_secret WHERE id = 1")
    row = await cur.fetchone()
    key = bytes(row[0]) if row else b""
    digest = hmac.new(key, f"{channel}:{chat_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:24]
