"""Woman A's question carrying her name and phone, woman B's similar one, and the terminal
chat that shows what B is offered; B's screen must hold nothing of A's."""

from __future__ import annotations

import io
import re

from bot.channels.terminal import run_terminal

NAME = "Sùng Thị Pà"
PHONE = "0912345678"
LOAN = (f"Em tên {NAME}, số điện thoại {PHONE}. Em muốn vay vốn ưu đãi chăn nuôi bò sinh sản "
        "thì làm thủ tục thế nào ạ")
SIMILAR = "Cho em hỏi vay vốn ưu đãi chăn nuôi bò sinh sản thì làm thủ tục thế nào ạ"
OFFERED = "Đã có chị em hỏi câu gần giống"
# Words only A wrote: none may reach B except inside the masked text.
HERS = ("Sùng", "Pà", PHONE, "912345678", "0912 345 678")


async def chat(runtime, user: str, lines: list[str]) -> str:
    """Everything printed to `user` on the real terminal channel for these lines."""
    out = io.StringIO()
    await run_terminal(runtime, user=user, stdin=io.StringIO("\n".join(lines) + "\n"),
                       stdout=out)
    return out.getvalue()


def ask(question: str, *finish: str) -> list[str]:
    return ["/start", "1", "nam tam", "1", question, *finish]


def assert_nothing_of_hers(screen: str) -> None:
    for word in HERS:
        assert word not in screen, f"B was shown {word!r}"
    # and nothing of her digits: four in a row of her phone would identify it
    for run in re.findall(r"\d{4,}", screen):
        assert run not in PHONE
