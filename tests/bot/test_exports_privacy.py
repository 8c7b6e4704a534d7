"""Attack: unzip the Word and Excel summaries (and read the digest) staff send to the People's
Committee and the departments, and search them for a woman's danger disclosure: her words, her
phone, her name. They carry a count and a case reference instead.
"""

from __future__ import annotations

from bot.digest import send_daily_digest
from tests.fakes.disclosure import (
    assert_no_disclosure,
    disclosure_and_a_loan_question,
    xml_text,
)


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
