"""A staff round in chat: members ask and support questions, a commune leader relays one, staff
look up its cluster; and the forward notices they are sent."""

from __future__ import annotations

import re

from tests.chat import Member
from tests.conftest import STAFF_TELEGRAM_ID


async def ask(runtime, user: str, question: str, topic: str = "1", anonymous: bool = True,
              channel: str = "telegram") -> str:
    m = Member(runtime, user=user, channel=channel)
    for line in ("/start", "1", "nam tam", topic, question):
        await m.send(line)
    if "Gửi câu hỏi cho Hội" in m.labels():  # a disclosure: she chooses to go on
        await m.press("Gửi câu hỏi cho Hội")
    if "Ủng hộ" in " ".join(m.labels()):
        await m.press("Câu của tôi khác")
    await m.send("2" if anonymous else "1")
    await m.send("1")
    if "Đồng ý" in " ".join(m.labels()):  # sensitive data: her separate consent
        await m.press("Đồng ý")
    found = re.search(r"LC27-\d{6}", m.text)
    assert found, m.text
    return found.group(0)


async def cluster_of(runtime, receipt: str) -> int:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT cluster_id FROM questions WHERE receipt = ?", (receipt,))
        return (await cur.fetchone())[0]


def staff(runtime) -> Member:
    return Member(runtime, user=STAFF_TELEGRAM_ID, channel="telegram")


LOAN = "Chị em muốn vay vốn chăn nuôi bò sinh sản thì làm thủ tục ở đâu ạ?"
LOAN_TYPED = "vay von chan nuoi bo sinh san thi lam thu tuc o dau a"
WATER = "Nước sinh hoạt ở bản bị đục vào mùa mưa, xin hỗ trợ bể lọc cho các hộ"


async def support(runtime, user: str, question: str) -> Member:
    """She types a question, is offered the similar one and supports it."""
    m = Member(runtime, user=user, channel="telegram")
    for line in ("/start", "1", "nam tam", "1", question):
        await m.send(line)
    await m.press("Ủng hộ câu 1")
    return m


async def relay(runtime, text: str, topic: str = "2") -> str:
    """The commune leader configured for Xã Mường Tè relays one question for 30 members."""
    leader = Member(runtime, user="chi-hoi")
    await leader.send("/chi_hoi")
    if "đồng ý" in leader.text:
        await leader.send("1")
    for line in (topic, text, "30"):
        await leader.send(line)
    await leader.press("Bỏ qua")
    receipt = next(w for w in leader.text.split() if w.startswith("LC27-"))
    await leader.press("Kết thúc")
    return receipt


async def notices(runtime, chat_id: str) -> list[str]:
    async with runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT text FROM outbox WHERE purpose = 'forward_notice' AND chat_id = ? "
            "ORDER BY id", (chat_id,))
    return [r["text"] for r in rows]
