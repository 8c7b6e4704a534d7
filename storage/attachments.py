"""SQL for the files the console keeps (migration 0011): a department's PDF with its written
answer, and members' voice messages fetched once from the channel.

Both are blobs in the database (why: storage/migrations/0011_files.sql). Every function takes
the connection of the caller's transaction. Nothing here fetches or checks a file: the console
(bot/web/files.py) does, outside any transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import aiosqlite

from .clock import stamp
from .rows import first_row, new_id

__all__ = ["Attachment", "Voice", "VoiceSource"]

Conn = aiosqlite.Connection
PDF_PURPOSE = "answer_pdf"


# --- a department's PDF ------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    id: int
    answer_id: int
    cluster_id: int
    department_id: str
    filename: str
    size: int


_ATTACHMENT = "SELECT id, answer_id, cluster_id, department_id, filename, size " \
              "FROM answer_attachments"


def _attachment(r: aiosqlite.Row) -> Attachment:
    return Attachment(r["id"], r["answer_id"], r["cluster_id"], r["department_id"],
                      r["filename"], r["size"])


async def attach_pdf(conn: Conn, answer_id: int, cluster_id: int, department_id: str,
                     filename: str, content: bytes, *, now: dt.datetime) -> int:
    """Keep the PDF of one written answer (its id); the new attachment's id."""
    cur = await conn.execute(
        "INSERT INTO answer_attachments (answer_id, cluster_id, department_id, filename, size, "
        "sha256, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (answer_id, cluster_id, department_id, filename, len(content),
         hashlib.sha256(content).hexdigest(), content, stamp(now)))
    return new_id(cur)


async def attachments_of_cluster(conn: Conn, cluster_id: int) -> dict[int, Attachment]:
    """Every answer's PDF in a cluster, by answer id."""
    rows = await conn.execute_fetchall(f"{_ATTACHMENT} WHERE cluster_id = ?", (cluster_id,))
    return {r["answer_id"]: _attachment(r) for r in rows}


async def attachment_of_answer(conn: Conn, answer_id: int) -> Attachment | None:
    row = await first_row(conn, f"{_ATTACHMENT} WHERE answer_id = ?", (answer_id,))
    return _attachment(row) if row else None


async def pdf_content(conn: Conn, attachment_id: int) -> bytes | None:
    row = await first_row(conn, "SELECT content FROM answer_attachments WHERE id = ?",
                          (attachment_id,))
    return bytes(row["content"]) if row else None


async def publish_pdf(conn: Conn, attachment_id: int, revision_id: int) -> None:
    """Staff published the answer as this revision: its PDF goes to whoever is told it."""
    await conn.execute("UPDATE answer_attachments SET revision_id = ? WHERE id = ?",
                       (revision_id, attachment_id))


async def pdf_of_revision(conn: Conn, revision_id: int) -> Attachment | None:
    row = await first_row(conn, f"{_ATTACHMENT} WHERE revision_id = ?", (revision_id,))
    return _attachment(row) if row else None


async def enqueue_pdf(conn: Conn, channel: str, chat_id: str, caption: str,
                      attachment_id: int, dedupe_key: str, *, now: dt.datetime) -> bool:
    """Queue the PDF for one person (the outbox sends it as a document with `caption`); False
    when it was queued before."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO outbox (channel, chat_id, text, purpose, dedupe_key, "
        "attachment_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (channel, chat_id, caption, PDF_PURPOSE, dedupe_key, attachment_id, stamp(now)))
    return cur.rowcount == 1


async def outbox_document(conn: Conn, outbox_id: int) -> tuple[str, bytes] | None:
    """The (file name, bytes) an outbox row sends, or None when it sends no document (or the
    PDF is gone)."""
    row = await first_row(
        conn, "SELECT a.filename, a.content FROM outbox o "
              "JOIN answer_attachments a ON a.id = o.attachment_id WHERE o.id = ?", (outbox_id,))
    return (row["filename"], bytes(row["content"])) if row else None


# --- voice messages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceSource:
    """A question's voice link and what decides who may hear it."""

    question_id: int
    cluster_id: int
    voice_url: str
    disclosure: bool  # urgent or a danger disclosure: the safety role's alone
    anonymous: bool = True  # she chose not to give her name: her voice is not for departments


async def voice_source(conn: Conn, question_id: int) -> VoiceSource | None:
    """The question's voice link; None when it has none (never had, or deleted)."""
    row = await first_row(
        conn, "SELECT id, cluster_id, voice_url, urgent, danger, anonymous FROM questions "
              "WHERE id = ? AND voice_url IS NOT NULL AND deleted_at IS NULL", (question_id,))
    if row is None or row["cluster_id"] is None:
        return None
    return VoiceSource(row["id"], row["cluster_id"], row["voice_url"],
                       bool(row["urgent"] or row["danger"]), bool(row["anonymous"]))


@dataclass(frozen=True)
class Voice:
    mime_type: str
    content: bytes


async def stored_voice(conn: Conn, question_id: int, source: str) -> Voice | None:
    """The audio kept for this question's current voice link, if fetched before."""
    row = await first_row(
        conn, "SELECT mime_type, content FROM voice_files WHERE question_id = ? AND source = ?",
        (question_id, source))
    return Voice(row["mime_type"], bytes(row["content"])) if row else None


async def keep_voice(conn: Conn, question_id: int, source: str, mime_type: str,
                     content: bytes, *, now: dt.datetime) -> bool:
    """Keep fetched audio, only if the question still has that voice link (her data may have
    been deleted while it was being fetched); whether it was kept."""
    cur = await conn.execute(
        "INSERT OR REPLACE INTO voice_files (question_id, source, mime_type, content, "
        "fetched_at) SELECT id, voice_url, ?, ?, ? FROM questions "
        "WHERE id = ? AND voice_url = ? AND deleted_at IS NULL",
        (mime_type, content, stamp(now), question_id, source))
    return cur.rowcount == 1
