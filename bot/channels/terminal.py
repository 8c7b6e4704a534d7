"""The terminal channel: `python -m bot chat`. Each input line is one message.

Works interactively and with piped stdin (exits 0 at end of input). Menus are numbered text,
exactly as on Zalo.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from handlers.types import Incoming, Reply
from storage import queries as q

from ..runtime import Runtime

__all__ = ["run_terminal"]

CHANNEL = "terminal"


async def run_terminal(
    runtime: Runtime,
    user: str = "demo",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    for stream in (stdin, stdout):
        # Bytes that are not UTF-8 must not end the chat: they arrive as lone surrogates, which
        # Incoming turns into U+FFFD, and anything printed back is encoded the same lenient way.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape" if stream is stdin else "replace")
    interactive = stdin.isatty()
    show = _printer(runtime, stdout)
    if interactive:
        stdout.write(runtime.services.locale.t("terminal.banner", user=user) + "\n")
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        incoming = Incoming(channel=CHANNEL, chat_id=user, user_id=user,
                            text=line.rstrip("\r\n"), display_name=user)
        replies = await runtime.dispatcher.handle(incoming)
        for reply in replies:
            show(reply)
        await runtime.dispatcher.delivered(replies)
        await _deliver_outbox(runtime, user, show)
        stdout.flush()
    return 0


def _printer(runtime: Runtime, stdout: TextIO,
             files: Path = Path("exports")) -> Callable[[Reply], None]:
    """Text as a numbered menu; a chart or an export is written to a file and named."""

    def show(reply: Reply) -> None:
        for name, content in _attachments(reply):
            files.mkdir(parents=True, exist_ok=True)
            (files / name).write_bytes(content)
            stdout.write(f"[{files / name}]\n")
        stdout.write(runtime.dispatcher.render_text(reply) + "\n\n")

    return show


def _attachments(reply: Reply) -> list[tuple[str, bytes]]:
    found = []
    if reply.image:
        found.append(("bieu-do.png", reply.image))
    if reply.document:
        found.append(reply.document)
    return found


async def _deliver_outbox(runtime: Runtime, user: str, show: Callable[[Reply], None]) -> None:
    """Messages queued for this terminal user (answers, notices) are shown inline."""
    owner = f"terminal:{user}"
    async with runtime.db.transaction() as conn:
        now = runtime.db.clock()
        for message in await q.claim_outbox(conn, CHANNEL, owner, now=now, chat_id=user):
            show(Reply("📣 " + message.text))
            await q.mark_outbox_sent(conn, message.id, owner, now=now)
