"""A second process writing members' questions into a database, for the backup/restore test.

`python -m tests.fakes.question_writer CONFIG DATABASE` runs until killed. Each member goes
through the real flows (consent, commune, topic, question, anonymity, send); after each question
is stored (the receipt is shown only after the commit) it prints "RECEIPT<TAB>N" and flushes.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from bot.config import load_config
from bot.runtime import open_runtime
from handlers.types import Incoming, Kind, Reply

RECEIPT = re.compile(r"\b([A-Z0-9]{2,8}-\d{6})\b")
# The buttons a member presses, in the order the flow offers them.
PRESS = ("ask:consent:yes", "ask:cm:", "ask:topic:1", "ask:sup:none", "ask:anon:1", "ask:send")
PLACES = ("thôn Nà Khum", "bản Phiêng", "bản Lả", "thôn Hợp Nhất", "bản Thẳm", "bản Nậm Củm")
NEEDS = ("làm đường bê tông vào bản", "kéo điện lưới về thôn", "xây nhà văn hóa thôn",
         "mở lớp dạy nghề đan lát", "hỗ trợ giống ngô mới", "làm bể nước sạch chung",
         "mở chợ phiên cuối tuần", "dạy dùng điện thoại thông minh")


def question(n: int) -> str:
    return (f"Chị em {PLACES[n % len(PLACES)]} đề nghị {NEEDS[n % len(NEEDS)]}, "
            f"lần thứ {n} xin hỏi bao giờ làm")


async def ask(runtime, n: int) -> str:
    user = f"w{n}"

    async def send(**fields) -> list[Reply]:
        incoming = Incoming(channel="terminal", chat_id=user, user_id=user,
                            display_name=f"Writer {n}", **fields)
        replies = await runtime.dispatcher.handle(incoming)
        await runtime.dispatcher.delivered(replies)
        return replies

    replies = await send(text="/start")
    for _ in range(12):
        text = "\n".join(r.text for r in replies)
        found = RECEIPT.search(text)
        if found and "ask:send" not in [o.action for r in replies for o in r.options]:
            return found[1]
        options = [o.action for r in replies for o in r.options]
        choice = next((a for want in PRESS for a in options if a.startswith(want)), None)
        if choice is None:
            replies = await send(text=question(n))
        else:
            replies = await send(kind=Kind.ACTION, action=choice)
    raise RuntimeError(f"member {n}: no receipt; last reply: {text[:200]!r}")


async def main(config_path: str, database: str) -> None:
    runtime = await open_runtime(load_config(config_path), Path(database))
    try:
        n = 0
        while True:
            receipt = await ask(runtime, n)
            print(f"{receipt}\t{n}", flush=True)
            n += 1
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
