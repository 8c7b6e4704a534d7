"""Attack: unzip the Word and Excel summaries (and read the digest) staff send to the People's
Committee and the departments, and search them for a woman's danger disclosure: her words, her
phone, her name. They carry a count and a case reference instead.
"""

from __future__ import annotations

import html
import io
import unicodedata
import zipfile

from bot.digest import send_daily_digest
from tests.chat import Member
from tests.handlers.test_offer_privacy import ask, chat

PHONE = "0987654321"
DISCLOSURE = ("Em tên Vàng Thị Dung ở bản Khuổi Phạc, số điện thoại 0987654321. Chồng em say "
              "rượu đánh em gãy tay, em không dám về nhà")
HERS = (PHONE, "987654321", "Vàng Thị Dung", "Khuổi Phạc", "gãy tay", "không dám về nhà",
        "[SĐT ẩn …321]")
LOAN = "Chị em bản Nà Sài muốn hỏi thủ tục vay vốn ưu đãi chăn nuôi bò sinh sản thế nào ạ"


def xml_text(content: bytes) -> str:
    """Every XML part of a .docx/.xlsx as one string, character references decoded (openpyxl
    writes "Nậm" as "N&#7853;m": a plain byte search would find nothing)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return html.unescape("\n".join(archive.read(name).decode("utf-8", "replace")
                                       for name in archive.namelist() if name.endswith(".xml")))


def assert_no_disclosure(text: str) -> None:
    for word in HERS:
        for form in ("NFC", "NFD"):
            assert unicodedata.normalize(form, word) not in text, f"{word!r} published"


async def disclosure_and_a_loan_question(runtime) -> Member:
    await chat(runtime, "a", ask(DISCLOSURE, "2", "gui"))
    await chat(runtime, "b", ask(LOAN, "1", "gui"))
    return Member(runtime, user="900", channel="telegram")


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
