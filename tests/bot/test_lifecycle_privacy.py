"""Attack: a danger disclosure forwarded to a department. Its reminders (to staff and the
department), the department's Excel sheet and the Word report carry a case reference, never
her words, phone, name or receipt code."""

from __future__ import annotations

import datetime as dt

from bot.reminders import send_reminders
from tests.fakes.disclosure import (
    assert_no_disclosure,
    disclosure_and_a_loan_question,
    xml_text,
)


async def test_reminders_and_department_sheets_never_carry_a_disclosure(staff_runtime, clock):
    staff = await disclosure_and_a_loan_question(staff_runtime)
    async with staff_runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT cluster_id, receipt, danger FROM questions ORDER BY id")
    disclosure = next(r for r in rows if r["danger"])
    # An urgent cluster is forwarded only with a wording staff wrote (never her words).
    await staff.send(f"/noidung {disclosure['cluster_id']} Hỗ trợ nơi tạm lánh ở cấp xã")
    await staff.send(f"/chuyen {disclosure['cluster_id']} 4 10/12/2026")
    assert "Chủ trì: Sở Y tế" in staff.text
    clock.now += dt.timedelta(days=9)  # 10/12/2026: the deadline day
    settings = staff_runtime.services.settings
    assert await send_reminders(staff_runtime.db, settings, staff_runtime.services.locale,
                                clock.now) == 1
    async with staff_runtime.db.transaction() as conn:
        [reminder] = await conn.execute_fetchall(
            "SELECT text FROM outbox WHERE purpose = 'reminder'")
    assert f"#{disclosure['cluster_id']}" in reminder["text"]
    assert_no_disclosure(reminder["text"])
    for fmt in ("xlsx", "docx"):
        await staff.send(f"/xuat {fmt}")
        [reply] = [r for r in staff.replies if r.document]
        text = xml_text(reply.document[1])
        assert "Sở Y tế" in text  # the department's sheet / annex is there
        assert_no_disclosure(text)
        assert disclosure["receipt"] not in text
