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

from ..outbox import OutboxWorker
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
    # The same outbox worker as every channel, with a sender that prints: answers and notices
    # queued for this user are shown inline, after the replies to the line she typed.
    async def print_queued(chat_id: str, text: str) -> None:
        show(Reply("📣 " + text))

    outbox = OutboxWorker(runtime.db, CHANNEL, print_queued, chat_id=user, per_chat_seconds=0)
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
        while await outbox.drain_once():
            pass
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
