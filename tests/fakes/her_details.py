"""Woman A's details written the way women type them (a phone half in words, an email spelled
out, her house, her name with no "tên" cue), and a member whose whole screen is kept, for the
attacks on what another member reads (tests/handlers/test_offer_oracle.py,
tests/handlers/test_leader_masking.py)."""

from __future__ import annotations

import re

from tests.chat import Member
from tests.fakes.offers import OFFERED

TOPIC = "Em muốn vay vốn ưu đãi chăn nuôi bò sinh sản thì làm thủ tục thế nào ạ"

# (what A writes, what B must never read of it)
DETAILS = [
    ("số em không chín một hai 345 678", ("chín một hai", "345", "678")),
    ("số em 0912 ba bốn năm sáu bảy tám", ("0912", "ba bốn năm", "sáu bảy tám")),
    ("sdt khong chin mot hai ba bon nam sau bay tam", ("chin mot hai", "sau bay tam")),
    ("số em 0 9 1 2 . 3 4 5 . 6 7 8", ("0 9 1 2", "3 4 5", "6 7 8")),
    ("số em +84 912-345-678", ("+84", "912", "678")),
    ("zalo 0912345678", ("0912345678", "678")),
    ("sdt: o912345678", ("o912345678", "912345678")),
    ("email hoalo a còng gmail chấm com", ("hoalo", "gmail", "còng")),
    ("email hoalo at gmail dot com", ("hoalo", "gmail", "dot com")),
    ("email hoalo@gmail .com", ("hoalo", "gmail")),
    ("địa chỉ số 12 ngõ 5 đường Lê Lợi", ("ngõ 5", "Lê Lợi", "số 12")),
    ("nhà thứ 3 cạnh trường bản Nà Tăm", ("nhà thứ 3", "cạnh trường", "Nà Tăm")),
    ("số CCCD 0123 4567 8901", ("0123", "4567", "8901")),
    ("em là lo thi hoa", ("lo thi hoa", "hoa")),
    ("Tôi Lò Hoa", ("Lò", "Hoa")),
    ("Tôi Vàng Thị Mai", ("Vàng", "Mai")),
]
IDS = [f"d{i}" for i in range(len(DETAILS))]
HER_NUMBERS = ("0912345678", "84912345678", "012345678901")


class Woman(Member):
    """A member whose whole screen is kept: every text and button the bot sent her."""

    def __init__(self, runtime, user: str) -> None:
        super().__init__(runtime, user=user, channel="terminal")
        self.screen: list[str] = []

    async def _handle(self, incoming):
        replies = await super()._handle(incoming)
        for reply in replies:
            self.screen += [reply.text, *(o.label for o in reply.options)]
        return replies

    async def asks(self, commune: str, question: str) -> str:
        """From /start to the step after her question (the offer or the next step): a
        "maybe in danger?" check is answered no. Returns everything she has read."""
        for line in ("/start", "1", commune, "1", question):
            await self.send(line)
        if DANGER_CHECK in self.text:
            await self.send("2")
        return "\n".join(self.screen)

    async def stores(self, commune: str, question: str, named: bool = False) -> None:
        """Her question stored as her own (an offer declined)."""
        await self.asks(commune, question)
        if OFFERED in self.text:
            await self.press("Câu của tôi khác")
        await self.send("1" if named else "2")
        await self.send("gui")
        assert "LC27-" in self.text, question


DANGER_CHECK = "Chị hoặc người thân có đang gặp nguy hiểm không"


def assert_none_of_hers(screen: str, secrets: tuple[str, ...]) -> None:
    for secret in secrets:
        found = re.search(rf"(?<!\w){re.escape(secret)}(?!\w)", screen,
                          0 if secret[0].isupper() else re.IGNORECASE)
        assert found is None, f"she was shown {secret!r}"
    # no four digits of her phone or ID number in a row either, however they are spaced
    for run in re.findall(r"\d(?:[ .\-]?\d)+", screen):
        digits = re.sub(r"\D", "", run)
        assert len(digits) < 4 or not any(digits in hers for hers in HER_NUMBERS), run
