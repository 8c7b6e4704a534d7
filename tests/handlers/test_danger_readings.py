"""How the danger screen reads what she types, through the real terminal chat (tests/chat.py):
her name and her phone number are not words of fear, an imminent threat reaches staff at once,
and a message the rules leave silent but the model reads as danger gets the gentle question.
"""

from __future__ import annotations

import pytest

from tests.chat import Member

HOTLINES = ("111", "113", "1900 969 680")


async def _alerts(runtime) -> int:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT COUNT(*) FROM outbox WHERE purpose = 'danger'")
        return (await cur.fetchone())[0]


async def _sure(runtime, user: str, text: str) -> Member:
    """She types `text` at idle: hotlines and a staff alert at once, no gentle question."""
    m = Member(runtime, user=user)
    before = await _alerts(runtime)
    await m.send(text)
    assert all(h in m.text for h in HOTLINES), (text, m.text)
    assert "không ạ?" not in m.text, (text, m.text)  # not asked: told staff were alerted
    assert await _alerts(runtime) == before + 1, text
    return m


# -- her name is not a signal ------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Tôi là Lò Thị Hoa, chồng tôi đánh tôi",
    "Em là Lò Thị Mến, chồng em đánh em",
    "em ten la lo thi hoa, ck em danh em",
])
async def test_a_woman_who_gives_her_name_then_tells_of_violence_reaches_staff(
        staff_runtime, text):
    # "Lò" folds to "lo" (lo sợ) and "Thị" to "thi" (thì: "if ... then"): the name made her
    # own account read as a hypothetical, asked about gently instead of escalated.
    await _sure(staff_runtime, "n1", text)


# -- her phone number is not fear --------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "gọi em số 0912345678 nhé",
    "em số 0912 345 678, chị gọi em nhé",
    "zalo em so 0912345678 a",
    "em so 0987.654.321, hoi ve vay von nuoi bo",
])
async def test_her_phone_number_is_not_read_as_fear(staff_runtime, text):
    # "em số" folds to "em so", "em sợ": the number she gives read as "I am afraid".
    m = Member(staff_runtime, user="p1")
    await m.send(text)
    assert "113" not in m.text and "không ạ?" not in m.text, (text, m.text)
    assert await _alerts(staff_runtime) == 0


async def test_fear_beside_her_phone_number_is_still_heard(staff_runtime):
    m = Member(staff_runtime, user="p2")
    await m.send("em sợ lắm, chồng em dọa giết em, gọi em số 0912345678")
    assert all(h in m.text for h in HOTLINES)
    assert await _alerts(staff_runtime) == 1


# -- imminent danger reaches staff at once -----------------------------------------------------

IMMINENT = [
    # a cry for help with the man on his way
    "chị ơi cứu em, nó sắp về rồi",
    "chị ơi cứu, hắn đang tới đây",
    "cứu với, bố dượng sắp về tới nhà rồi",
    # a child to be sold
    "ck e bảo mai sẽ mang con đi bán",
    "chồng em nói tuần sau đem con đi bán",
    "bố nó bảo sẽ bán thằng bé cho người ta",
    "ck e doi mang con di ban lay tien",
    "vo chong nha ben bao se bong con be di ban",
    # a girl of a named age forced to marry, on a date
    "nguoi ta bat em gai e 16 tuoi phai cuoi, mai la cuoi roi",
    "nha chong ep chau gai e 15 tuoi phai cuoi, thu 7 nay nha trai den",
    # her husband slaps her, told in teencode, and she cannot bear it any more
    "ox e uong ruou xong la tat e, e chiu het noi r",
    "ck e say xong la tat e, e chiu het noi roi",
    "ox e nhau xong ve tat e may cai, e chiu k noi nua",
    "ck e hom qua uong xong lai tat e, e het chiu noi roi",
]


@pytest.mark.parametrize("text", IMMINENT)
async def test_imminent_danger_alerts_staff_without_asking_first(staff_runtime, text):
    # Each got only the gentle question (or nothing): staff heard of it only if she answered.
    await _sure(staff_runtime, "i1", text)


@pytest.mark.parametrize("text", [
    "Mẹ em hay mang con đi bán hàng ở chợ, có được hỗ trợ vay vốn không",
    "nhà em nghèo, mang con lợn đi bán để đóng học cho con",
    "Đội cứu hộ đang tới bản em sau lũ, xin hỗ trợ gạo",
    "Đề nghị cứu trợ cho bà con, họ sắp về quê sau lũ",
    "e muon hoi tat ca chi em phu nu co duoc vay von khong",
])
async def test_selling_goods_relief_and_tat_ca_stay_ordinary_questions(staff_runtime, text):
    m = Member(staff_runtime, user="o1")
    await m.send(text)
    assert "113" not in m.text, (text, m.text)
    assert await _alerts(staff_runtime) == 0
