"""Files in the console: a department's PDF with its written answer, and members' voice
messages, both kept on the union's server (storage/attachments.py).

A PDF is read by staff (who review and publish the answer) and by the department that wrote it;
any other department gets a 404 for it, as for another department's cluster. A voice message is
fetched from the Bot API (Telegram) or its Zalo link the first time someone opens it and kept;
staff hear it, a department only in a cluster forwarded to it; a danger disclosure's audio only
the safety role hears, on the case page (it alone reads a disclosure). When her data is deleted, the
audio goes with the voice link (triggers in storage/migrations/0011_files.sql).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.channels.telegram import files as telegram_files
from bot.channels.telegram.files import FILE_PREFIX
from bot.channels.zalo import files as zalo_files
from handlers.text import fold
from storage import attachments as files_store
from storage import console as store
from storage import lifecycle

from .app import STAFF_ROLES, Console, page

__all__ = ["BadPdf", "read_pdf", "routes", "safe_pdf_name"]

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
VOICE_LIMIT = 20 * 1024 * 1024  # the most the Bot API lets a bot download
VOICE_TYPE = "audio/ogg"  # Telegram voice messages are Opus in Ogg; Zalo says its own
NAME_CHARS = 80


def routes() -> list[Route]:
    return [
        Route("/tra-loi/{answer_id:id}/pdf", answer_pdf, methods=["GET"]),
        Route("/thoai/{question_id:id}", voice, methods=["GET"]),
    ]


# --- a department's PDF ------------------------------------------------------------------------


class BadPdf(Exception):
    """Why an upload was refused: the notice code shown to the department."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Pdf:
    filename: str
    content: bytes


async def read_pdf(upload: object, max_mb: int, fallback_name: str) -> Pdf | None:
    """The uploaded PDF, None when no file was chosen; BadPdf when it is not a PDF (its first
    bytes are not "%PDF-", whatever its name or declared type) or larger than `max_mb` MB."""
    if not isinstance(upload, UploadFile) or (not upload.filename and not upload.size):
        return None
    limit = max_mb * 1024 * 1024
    content = await upload.read(limit + 1)
    if not content:
        return None
    if len(content) > limit:
        raise BadPdf("pdf_too_big")
    if not content.startswith(PDF_MAGIC):
        raise BadPdf("not_pdf")
    return Pdf(safe_pdf_name(upload.filename or "", fallback_name), content)


def safe_pdf_name(given: str, fallback: str) -> str:
    """A name safe in a header and on any disk: the last path part, without diacritics, only
    letters, digits, '-', '_' and '.', ending ".pdf"; `fallback` when nothing is left."""
    base = re.split(r"[/\\]", given)[-1]
    stem = base[:-4] if base.lower().endswith(".pdf") else base
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", fold(stem)).strip("-._")
    return f"{(stem or fallback)[:NAME_CHARS]}.pdf"


@page(*STAFF_ROLES, "department")
async def answer_pdf(request: Request, console: Console, session: store.Session) -> Response:
    account = session.account
    async with console.runtime.db.transaction() as conn:
        found = await files_store.attachment_of_answer(conn, request.path_params["answer_id"])
        if found is None or not _may_read(account, found):
            raise HTTPException(404)
        content = await files_store.pdf_content(conn, found.id)
        await console.audit(conn, session, "view_pdf", found.cluster_id)
    if content is None:
        raise HTTPException(404)
    return Response(content, media_type="application/pdf", headers={
        "content-disposition": f'attachment; filename="{found.filename}"'})


def _may_read(account: store.Account, found: files_store.Attachment) -> bool:
    """Staff read every PDF; a department only its own."""
    if account.role in STAFF_ROLES:
        return True
    return account.role == "department" and account.department == found.department_id


# --- voice messages ----------------------------------------------------------------------------


@page(*STAFF_ROLES, "department", "safety")
async def voice(request: Request, console: Console, session: store.Session) -> Response:
    question_id = request.path_params["question_id"]
    async with console.runtime.db.transaction() as conn:
        source = await files_store.voice_source(conn, question_id)
        if source is None or not await _may_hear(conn, console, session.account, source):
            raise HTTPException(404)
        kept = await files_store.stored_voice(conn, question_id, source.voice_url)
        await console.audit(conn, session, "play_voice", source.cluster_id)
    if kept is None:
        kept = await _fetch(console, source)
    return Response(kept.content, media_type=kept.mime_type,
                    headers={"content-disposition": "inline"})


async def _may_hear(conn, console: Console, account: store.Account,
                    source: files_store.VoiceSource) -> bool:
    if not _fetchable(source.voice_url):
        return False
    if source.disclosure or account.role == "safety":
        # A disclosure's voice is the safety role's alone, as its words are; that role hears
        # nothing else.
        return source.disclosure and account.role == "safety"
    if account.role in STAFF_ROLES:
        return True
    if account.role != "department" or not account.department or source.anonymous:
        # A voice is who she is: no mask reaches it, so a department hears only a woman who
        # gave her name (red-team pass 5, F6); staff transcribe the others.
        return False
    return any(f.department_id == account.department
               for f in await lifecycle.forwards_of_cluster(conn, source.cluster_id))


def _fetchable(link: str) -> bool:
    return link.startswith(FILE_PREFIX) or zalo_files.is_voice_link(link)


async def _fetch(console: Console, source: files_store.VoiceSource) -> files_store.Voice:
    """From the Bot API (Telegram) or Zalo's file link, outside any transaction (it may take
    seconds); kept only if the question still has that voice message when it arrives."""
    try:
        content, mime_type = await _download(console, source.voice_url)
    except (telegram_files.FileUnavailable, zalo_files.VoiceUnavailable) as exc:
        log.warning("voice message #%s not fetched: %s", source.question_id, exc)
        raise HTTPException(502) from None
    async with console.runtime.db.transaction() as conn:
        if not await files_store.keep_voice(conn, source.question_id, source.voice_url,
                                            mime_type, content, now=console.now()):
            raise HTTPException(404)  # deleted meanwhile: not served, not kept
    return files_store.Voice(mime_type, content)


async def _download(console: Console, link: str) -> tuple[bytes, str]:
    channel = "telegram" if link.startswith(FILE_PREFIX) else "zalo"
    settings = console.runtime.config.channels.get(channel)
    if settings is None:
        raise HTTPException(404)
    if channel == "telegram":
        content = await telegram_files.download(settings, link[len(FILE_PREFIX):], VOICE_LIMIT)
        return content, VOICE_TYPE
    return await zalo_files.download(settings, link, VOICE_LIMIT)
