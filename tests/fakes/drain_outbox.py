"""A second outbox sender in its own process: `python -m tests.fakes.drain_outbox DB OUT`.

Drains the Telegram outbox of DB with a recording sender (a line per message sent, added to
OUT) until nothing is due for a second, then exits 0.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.outbox import OutboxWorker
from storage.db import Database


async def drain(database: Path, out: Path, batch: int) -> None:
    db = await Database.open(database)
    with out.open("a", encoding="utf-8") as sent:

        async def send(chat_id: str, text: str) -> None:
            await asyncio.sleep(0.002)  # a real send takes time: the other sender runs meanwhile
            sent.write(f"{chat_id}\t{text}\n")
            sent.flush()

        worker = OutboxWorker(db, "telegram", send, per_chat_seconds=0)
        idle_since = None
        loop = asyncio.get_running_loop()
        while idle_since is None or loop.time() - idle_since < 1.0:
            if await worker.drain_once(batch):
                idle_since = None
            else:
                idle_since = idle_since or loop.time()
                await asyncio.sleep(0.02)
    await db.close()


if __name__ == "__main__":
    asyncio.run(drain(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3
                      else 20))
