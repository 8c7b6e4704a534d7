"""Attack: unzip the Word and Excel summaries (and read the digest) staff send to the People's
Committee and the departments, and search them for a woman's danger disclosure: her words, her
phone, her name. They carry a count and a case reference instead.
"""

from __future__ import annotations

from bot.digest import send_daily_digest
from tests.chat import Member
from tests.fakes.disclosure import (
    assert_no_disclosure,
    disclosure_and_a_loan_question,
    xml_text,
)
from tests.fakes.offers import chat


async def test_word_and_excel_carry_a_case_reference_not_her_words(staff_runtime):
    staff = await disclosure_and_a_loan_question(staff_runtime)
    for fmt in ("docx", "xlsx"):
        await staff.send(f"/xuat {fmt}")
        [reply] = [r for r in staff.replies if r.document]
        text = xml_text(reply.document[1])
        assert "Nà Sài" in text  # the export is real
        assert "#1" in text and "khẩn" in text.lower()  # the case is counted and referenced
        assert_no_disclosure(text)


async def test_digest_carries_a_case_reference_not_her_words(staff_runtime):
    staff = await disclosure_and_a_loan_question(staff_runtime)
    await staff.send("/tonghop")
    assert "Nà Sài" in staff.text and "#1" in staff.text
    assert_no_disclosure(staff.text)
    runtime = staff_runtime
    assert await send_daily_digest(runtime.db, runtime.services.settings,
                                   runtime.services.locale, runtime.db.clock())
    async with runtime.db.transaction() as conn:
        [digest] = await conn.execute_fetchall("SELECT text FROM outbox WHERE purpose = 'digest'")
    assert "#1" in digest["text"]
    assert_no_disclosure(digest["text"])


async def test_flag_removed_still_keeps_a_disclosure_out(staff_runtime):
    """Staff un-flag the cluster: the danger words in the question keep it out of the files."""
    staff = await disclosure_and_a_loan_question(staff_runtime)
    await staff.send("/khan 1")
    await staff.send("/xuat docx")
    [reply] = [r for r in staff.replies if r.document]
    assert_no_disclosure(xml_text(reply.document[1]))


# The red team found anonymous askers' names in the Word report to the People's Committee
# (notes/redteam.md, promise 3): the masker missed lower-case and comma forms.
NAMED = [
    "em là lò thị mến, hỏi về bảo hiểm xã hội tự nguyện cho nông dân ạ",
    "Tôi, Vàng Thị Mỷ, hỏi về việc cấp thẻ bảo hiểm y tế cho trẻ dưới 6 tuổi ạ",
    "em ten la nguyen thi hoa, em muon hoc ky nang so dung dien thoai thong minh",
    "Người hỏi: Lò Thị Mai. Chồng mình là anh Vàng A Sử, xin hỏi về vay vốn trồng chè",
]


async def test_word_and_excel_carry_no_name_of_an_anonymous_asker(staff_runtime):
    for n, text in enumerate(NAMED):
        await chat(staff_runtime, f"n{n}", ["/start", "1", "nam tam", "7", text, "2", "gui"])
    staff = Member(staff_runtime, user="900", channel="telegram")
    for fmt in ("docx", "xlsx"):
        await staff.send(f"/xuat {fmt}")
        [reply] = [r for r in staff.replies if r.document]
        text = xml_text(reply.document[1]).lower()
        assert "bảo hiểm xã hội tự nguyện" in text and "[tên ẩn]" in text  # the export is real
        for name in ("lò thị mến", "vàng thị mỷ", "nguyen thi hoa", "lò thị mai", "vàng a sử",
                     "[tên ẩn] mến", "[tên ẩn] mỷ"):
            assert name not in text, f"{name!r} published"
