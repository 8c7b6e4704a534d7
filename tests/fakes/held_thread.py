"""Hold aiosqlite's thread busy (a long console read, say) while a test does something else."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

__all__ = ["database_thread_held"]


@contextlib.asynccontextmanager
async def database_thread_held(db) -> AsyncIterator[threading.Event]:
    """Inside the block aiosqlite's thread runs a query that does not end until the block does.
    Yields an event that is set once that query has finished: still clear at the end of the
    block means what the block did never waited for the thread."""
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()

    def hold() -> int:
        entered.set()
        release.wait(10)  # bounded: without the change the test fails instead of hanging
        finished.set()
        return 0

    await db.conn.create_function("hold", 0, hold)
    held = asyncio.create_task(db.conn.execute("SELECT hold()"))
    await asyncio.to_thread(entered.wait, 10)
    try:
        yield finished
    finally:
        release.set()
        await held
