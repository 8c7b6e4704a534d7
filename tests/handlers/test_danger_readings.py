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


# -- the second reader: where the rules are silent, the gentle question, never an alarm ----------

# Told without a word the rules know (checked: the rules alone leave each silent).
MODEL_ONLY = [
    "bé nhà em bị ông chú làm chuyện bậy",
    "chong e no ko cho e cam tien, e ko co gi an",
]


@pytest.mark.parametrize("text", MODEL_ONLY)
async def test_what_only_the_model_reads_as_danger_is_asked_gently_and_alerts_no_one(
        staff_runtime, text):
    from handlers.safety import DangerDetector

    assert DangerDetector.from_files(model=None)(text) is None  # the rules alone: silent
    m = Member(staff_runtime, user="m1")
    await m.send(text)
    assert all(h in m.text for h in HOTLINES) and "không ạ?" in m.text, (text, m.text)
    assert await _alerts(staff_runtime) == 0  # never an alarm on the model's word
    await m.send("1")  # 🆘: she says she needs help now
    assert await _alerts(staff_runtime) == 1


async def test_no_after_the_models_question_keeps_her_words_as_her_question(staff_runtime):
    m = Member(staff_runtime, user="m2")
    await m.send(MODEL_ONLY[1])
    await m.press("Không, tôi muốn gửi câu hỏi")
    assert "đồng ý" in m.text.lower()  # on to her question, her words kept as the draft
    assert await _alerts(staff_runtime) == 0


async def test_asked_if_in_danger_an_answer_only_the_model_reads_is_no_alarm(staff_runtime):
    m = Member(staff_runtime, user="m3")
    await m.send("Em muốn hỏi khi bị bạo lực gia đình thì báo ai")  # the rules' "maybe"
    assert "không ạ?" in m.text
    await m.send(MODEL_ONLY[0])
    assert await _alerts(staff_runtime) == 0
    assert "không ạ?" in m.text  # asked again, plainly: 1 for help, or no


def test_a_broken_model_file_names_itself(tmp_path):
    from handlers.danger_model import DangerModel

    bad = tmp_path / "danger_model.json"
    bad.write_text('{"weights": {}, "bias": 0, "threshold": 7}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"danger_model\.json"):
        DangerModel.from_file(bad)


# -- her own means of ending her life ----------------------------------------------------------

@pytest.mark.parametrize("text", [
    "em uống lá ngón cho xong",  # how women in the province end their lives
    "em định ăn lá ngón",
    "e uong thuoc sau cho xong",
    "em mua thuốc chuột rồi, tối nay em uống",
    "thôi em đi đây, các con ở lại ngoan nhé",  # a farewell
    "ck e mà biết e nhắn cho hội là e chết",
])
async def test_her_means_or_farewell_reaches_staff_at_once(staff_runtime, text):
    # Red-team pass 5, F5: a stated means got only the gentle question; a farewell got nothing.
    await _sure(staff_runtime, "s1", text)


@pytest.mark.parametrize("text", [
    "Tình trạng phụ nữ ăn lá ngón tự tử ở vùng cao, tỉnh có giải pháp gì",
    "con em uống nhầm thuốc sâu phải đi viện, có được bảo hiểm không",
    "thuốc sâu em phun cho lúa có độc không",
    "các con ở lại ngoan nhé, mẹ đi chợ",
])
async def test_poison_and_farewell_words_in_other_senses_stay_ordinary(staff_runtime, text):
    m = Member(staff_runtime, user="s2")
    await m.send(text)
    assert await _alerts(staff_runtime) == 0, (text, m.text)


async def test_her_no_means_her_question_is_not_filed_as_violence(staff_runtime):
    # Red-team pass 5, F4: after "Không" to the unsure screen, her question was still named
    # "bạo lực, xâm hại" at send, asked a separate consent and hidden as a violence question.
    text = "mấy hôm nay em lo quá, chồng em đi làm xa chưa về, nhà hết gạo rồi, xin hỗ trợ gạo"
    m = Member(staff_runtime, user="v1")
    for line in ("/start", "1", "nam tam", "1", text):
        await m.send(line)
    assert "không ạ?" in m.text  # asked whether she is in danger
    await m.press("Không, tôi muốn gửi câu hỏi")
    await m.send("2")  # anonymous
    await m.send("1")  # send
    assert "bạo lực" not in m.text and "LC27-" in m.text, m.text
    async with staff_runtime.db.transaction() as conn:
        [row] = await conn.execute_fetchall("SELECT text, danger, urgent FROM questions")
    assert row["text"] == text and row["danger"] is None and not row["urgent"]
    assert await _alerts(staff_runtime) == 0


async def test_an_address_typed_without_marks_is_not_fear(staff_runtime):
    m = Member(staff_runtime, user="v2")
    await m.send("em o so 12 ngo 5 duong tran phu, em muon hoi vay von uu dai chan nuoi bo")
    assert "không ạ?" not in m.text and "113" not in m.text, m.text


@pytest.mark.parametrize("text", [
    "con gái em 20 tuổi, sắp lấy chồng, cần giấy tờ gì ạ",  # marriage papers, nobody's taken
])
async def test_marriage_papers_raise_no_alert(staff_runtime, text):
    # It sent a staff alert: "lấy … giấy tờ" read as her papers taken.
    m = Member(staff_runtime, user="w1")
    await m.send(text)
    assert await _alerts(staff_runtime) == 0, (text, m.text)


@pytest.mark.parametrize("text", [
    "con gái em 14 tuổi bố nó bắt lấy chồng cần giấy tờ gì",
    "nó bắt con em cuối tuần này phải cưới",
    "tuần sau nó bắt em lấy chồng",
    "nó lấy giấy tờ của em rồi không cho về",
])
async def test_a_forced_marriage_or_her_papers_taken_still_alert(staff_runtime, text):
    await _sure(staff_runtime, "w2", text)
