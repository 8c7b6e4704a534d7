"""Attack over the real Telegram path: woman B's every received text searched for woman A's
phone, name and words (the terminal side is in tests/handlers/test_offer_privacy.py)."""

from __future__ import annotations

from tests.fakes.offers import LOAN, OFFERED, SIMILAR, assert_nothing_of_hers
from tests.fakes.telegram_chat import press, send, start_channel, text_of


async def test_telegram_b_never_sees_her_phone_or_name(staff_runtime, fake):
    channel = await start_channel(staff_runtime, fake)
    try:
        a, b = 601, 602
        for line in ("/start", "1", "nam tam", "1", LOAN, "2", "gui"):
            await send(fake, a, line)
        for line in ("/start", "1", "nam tam", "1"):
            await send(fake, b, line)
        offer = await send(fake, b, SIMILAR)
        assert OFFERED in text_of(offer)
        # before staff worded it, B reads only her own words that A's question shares
        assert '"vay vốn ưu đãi chăn nuôi bò sinh sản thì làm thủ tục thế nào ạ"' in text_of(offer)
        assert "Em muốn" not in text_of(offer) and "[SĐT ẩn" not in text_of(offer)
        await press(fake, b, "Ủng hộ câu 1")
        await send(fake, b, "/cua_toi")
        everything = "\n".join((m.get("text") or "") + str(m.get("reply_markup") or "")
                               for m in fake.sent(b))
        assert_nothing_of_hers(everything)
    finally:
        await channel.stop()
