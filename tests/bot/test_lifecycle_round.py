"""A whole round with a fake clock, from collection to the period report (issue 16).

Members ask, support and relay in December; staff forward to a lead and a co-operating
department; the clock walks through July with the reminder job run twice a day; departments
answer on time, late or never; a cluster is never forwarded; the dialogue happens, an agency
commits, the matter is resolved; the bot restarts in between. What people would notice is
checked: each reminder once, the never-forwarded cluster overdue, each asker hears the
commitment and the result exactly once, the signed Word report and the Excel sheets agree
with `stats`, the period report's figures.
"""

from __future__ import annotations

import datetime as dt
import io

import docx
import openpyxl
import pytest

from bot.config import load_config
from bot.digest import build_digest
from bot.period import period_report, period_text
from bot.reminders import send_reminders
from bot.runtime import open_runtime
from storage import lifecycle as lc
from tests.chat import Member
from tests.conftest import STAFF_GROUP, STAFF_TELEGRAM_ID
from tests.fakes.staff_round import LOAN, LOAN_TYPED, WATER, ask, cluster_of, relay, support

NHCSXH_CHAT = "-100888"
SIGNER = "Nguyễn Thị Hoa"
HEALTH = "Trạm y tế xã em không có bác sĩ sản khoa, chị em đi khám thai rất xa"
OFFICIAL = "Thủ tục vay vốn ưu đãi chăn nuôi bò sinh sản cho hội viên phụ nữ"


def local(day: dt.date, hour: int = 8) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour - 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def round_config(staff_config, tmp_path):
    text = staff_config.path.read_text(encoding="utf-8")
    for old, new in (
        ('id = "nhcsxh"\nname = "Ngân hàng Chính sách xã hội chi nhánh tỉnh"\n',
         'id = "nhcsxh"\nname = "Ngân hàng Chính sách xã hội chi nhánh tỉnh"\n'
         f'telegram_chat_id = {NHCSXH_CHAT}\n'),
        ('signer_name = ""', f'signer_name = "{SIGNER}"'),
        ('number = ""', 'number = "15"'),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    # The 2027 dialogue names the bank by its [[departments]] name: it resolves to "nhcsxh".
    path = tmp_path / "round.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


async def rows(rt, sql: str, *params):
    async with rt.db.transaction() as conn:
        return await conn.execute_fetchall(sql, params)


async def told(rt, chat: str, purpose: str) -> list[str]:
    found = await rows(rt, "SELECT text FROM outbox WHERE chat_id = ? AND purpose = ? "
                           "ORDER BY id", chat, purpose)
    return [r["text"] for r in found]


async def test_a_whole_round_from_collection_to_the_period_report(round_config, clock,
                                                                 tmp_path):
    settings = round_config.settings
    dialogue = settings.dialogue("lai-chau-2027")
    nhcsxh = dialogue.department_ids.index("nhcsxh") + 1
    db_path = tmp_path / "round.db"
    rt = await open_runtime(round_config, db_path, clock=clock)  # 01/12/2026, collecting
    try:
        loan = await ask(rt, "21", LOAN)
        loan_cluster = await cluster_of(rt, loan)
        await support(rt, "22", LOAN_TYPED)
        water_cluster = await cluster_of(rt, await relay(rt, WATER))
        never_cluster = await cluster_of(rt, await ask(rt, "23", HEALTH, topic="4"))
        assert len({loan_cluster, water_cluster, never_cluster}) == 3
        staff = Member(rt, user=STAFF_TELEGRAM_ID, channel="telegram")
        await staff.send(f"/noidung {loan_cluster} {OFFICIAL}")
        await staff.send(f"/chuyen {loan_cluster} {nhcsxh} 20/07/2027 2 25/07/2027")
        assert "Chủ trì: Ngân hàng Chính sách xã hội chi nhánh tỉnh" in staff.text
        await staff.send(f"/chuyen {water_cluster} 1 15/07/2027")
        assert "Chủ trì: Sở Nông nghiệp và Môi trường — hạn 15/07/2027" in staff.text
    finally:
        await rt.close()

    # July: the reminder job runs twice a day; the bot restarts the morning after each day a
    # reminder fired.
    fired = []
    restarts = {13, 16, 18, 23, 26}
    rt = await open_runtime(round_config, db_path, clock=clock)
    try:
        for day in range(10, 28):
            clock.now = local(dt.date(2027, 7, day))
            if day in restarts:
                await rt.close()
                rt = await open_runtime(round_config, db_path, clock=clock)
            for _ in range(2):
                fired.append(await send_reminders(rt.db, settings, rt.services.locale,
                                                  clock.now))
            staff = Member(rt, user=STAFF_TELEGRAM_ID, channel="telegram")
            if day == 18:  # the lead answers on time
                await staff.send(f"/sotraloi {loan_cluster} {nhcsxh} Ngân hàng cho vay tối "
                                 "đa 100 triệu đồng qua tổ tiết kiệm và vay vốn.")
                assert "đúng hạn" in staff.text
            if day == 27:  # the co-operating department two days late
                await staff.send(f"/sotraloi {loan_cluster} 2 Sở Tài chính bố trí vốn đối "
                                 "ứng cho chương trình.")
                assert "chậm" in staff.text
    finally:
        await rt.close()
    # 5 reminders in all, each once: water before (12/07) and due (15/07); loan lead before
    # (17/07), then answered; loan co-operating before (22/07) and due (25/07).
    assert sum(fired) == 5 and max(fired) == 1
    rt = await open_runtime(round_config, db_path, clock=clock)  # 27/07/2027
    try:
        keys = [r["key"] for r in await rows(rt, "SELECT key FROM reminders ORDER BY key")]
        assert len(keys) == 5
        to_department = await told(rt, NHCSXH_CHAT, "reminder")
        assert len(to_department) == 1 and f"#{loan_cluster}" in to_department[0]
        assert OFFICIAL in to_department[0]  # staff's wording, not her words
        assert len(await told(rt, STAFF_GROUP, "reminder")) == 5

        # After the 25/07 answer deadline: the never-forwarded cluster is overdue too.
        async with rt.db.transaction() as conn:
            late = await lc.overdue(conn, dialogue, clock.now.date())
            digest = await build_digest(conn, settings, rt.services.locale, clock.now, "",
                                        with_chart=False)
        reasons = {(o.cluster_id, o.reason) for o in late}
        assert (never_cluster, "not_forwarded") in reasons
        assert (water_cluster, "not_answered") in reasons
        assert (water_cluster, "forward_late") in reasons
        assert "CHƯA CHUYỂN" in digest.text and f"#{never_cluster}" in digest.text
        assert "31/07/2027 (còn 4 ngày)" in digest.text

        staff = Member(rt, user=STAFF_TELEGRAM_ID, channel="telegram")
        await staff.send(f"/traloi {loan_cluster}")
        await staff.send("Ngân hàng Chính sách xã hội cho vay tối đa 100 triệu đồng, "
                         "liên hệ tổ tiết kiệm ở thôn.")
        await staff.press("Ngân hàng Chính sách")
        await staff.press("Lưu và báo")

        # August: the dialogue; the bank commits to a date.
        clock.now = local(dt.date(2027, 8, 20))
        await staff.send(f"/thaoluan {loan_cluster} Giao Ngân hàng CSXH giải ngân trong quý III")
        await staff.send(f"/camket {loan_cluster} {nhcsxh} 30/09/2027 Giải ngân cho các hộ "
                         "đủ điều kiện")
        assert "Đang báo cho 2 người" in staff.text  # the asker and the supporter
        await staff.send(f"/camket {water_cluster} 1 31/10/2027 Khảo sát, lắp bể lọc nước")
        assert "Đang báo cho 1 người" in staff.text  # the leader who relayed it
    finally:
        await rt.close()

    clock.now = local(dt.date(2027, 9, 27))  # 3 days before the commitment's date
    rt = await open_runtime(round_config, db_path, clock=clock)
    try:
        assert await send_reminders(rt.db, settings, rt.services.locale, clock.now) == 1
        assert await send_reminders(rt.db, settings, rt.services.locale, clock.now) == 0
        staff = Member(rt, user=STAFF_TELEGRAM_ID, channel="telegram")
        await staff.send(f"/ketqua {loan_cluster} Đã giải ngân cho 12 hộ, tổng 1,2 tỷ đồng.")
        assert "Đang báo kết quả cho 2 người" in staff.text
        await staff.send(f"/khongthe {water_cluster} Chưa có nguồn vốn năm 2027, đưa vào kế "
                         "hoạch năm 2028.")
        assert "Đang báo lý do cho 1 người" in staff.text
    finally:
        await rt.close()

    clock.now = local(dt.date(2027, 10, 1))
    rt = await open_runtime(round_config, db_path, clock=clock)
    try:
        assert await send_reminders(rt.db, settings, rt.services.locale, clock.now) == 0
        # Each asker, the supporter and the relaying leader: the commitment once, the
        # result once, in her own chat, after all those restarts.
        for chat in ("21", "22"):
            [commitment] = await told(rt, chat, "followup_committed")
            [result] = await told(rt, chat, "followup_resolved")
            assert "30/09/2027" in commitment and "Ngân hàng Chính sách xã hội" in commitment
            assert "12 hộ" in result
        [commitment] = await told(rt, "chi-hoi", "followup_committed")
        [result] = await told(rt, "chi-hoi", "followup_unresolvable")
        assert "31/10/2027" in commitment and "năm 2028" in result
        assert await told(rt, "23", "followup_committed") == []

        async with rt.db.transaction() as conn:
            tools = rt.services.tools
            stats = await tools.stats(conn, dialogue, clock.now.date())
            _, word = await tools.export(conn, dialogue, "docx", clock.now.date())
            _, excel = await tools.export(conn, dialogue, "xlsx", clock.now.date())
            period = await period_report(conn, settings, dt.date(2027, 1, 1),
                                         dt.date(2027, 12, 31))
        stats_text = rt.services.tools.stats_text(stats)
        assert ("Ngân hàng Chính sách xã hội chi nhánh tỉnh: 1 · 1 đúng hạn · 0 chậm · "
                "0 chưa trả lời (0 quá hạn) · tỷ lệ đúng hạn 100% · trung vị 229 ngày"
                ) in stats_text
        assert "đã giải quyết 1, không giải quyết được 1" in stats_text
        assert "1 cụm chưa chuyển sở, ngành nào" in stats_text
        await _word_is_signed_with_an_annex(word, loan_cluster)
        _excel_sheets_match_stats(excel, stats)

        text = period_text(period, settings, rt.services.locale)
        assert period.questions == 0  # asked in December 2026, before this period
        assert period.answered == 2 and period.on_time == 1
        bank = next(d for d in period.departments if d.name.startswith("Ngân hàng"))
        # Forwarded 01/12/2026, answered 18/07/2027: 229 days.
        assert (bank.answered, bank.on_time, bank.median_days) == (1, 1, 229)
        assert (period.resolved, period.unresolvable, period.commitments_made) == (1, 1, 2)
        assert "229 ngày" in text
        both = await period_report_2026_2027(rt, settings)
        assert both.questions == 3  # the three stored questions (supports are not questions)
    finally:
        await rt.close()


async def period_report_2026_2027(rt, settings):
    async with rt.db.transaction() as conn:
        return await period_report(conn, settings, dt.date(2026, 7, 1), dt.date(2027, 12, 31))


async def _word_is_signed_with_an_annex(content: bytes, loan_cluster: int) -> None:
    document = docx.Document(io.BytesIO(content))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "BÁO CÁO" in body and OFFICIAL in body
    assert "chủ trì trả lời: Ngân hàng Chính sách xã hội chi nhánh tỉnh (hạn 20/07/2027)" in body
    assert "phối hợp: Sở Tài chính (hạn 25/07/2027)" in body
    assert "Sau đối thoại: Đã giải quyết" in body
    letterhead = document.tables[0].rows[0].cells[0].text
    assert "Số: 15/BC-HPN" in letterhead
    signature = document.tables[1].rows[0].cells[1]
    signer = [p.text for p in signature.paragraphs if p.text]
    assert signer == ["TM. BAN THƯỜNG VỤ\nCHỦ TỊCH", SIGNER]
    annex = document.tables[2]
    cells = [[c.text for c in row.cells] for row in annex.rows]
    assert cells[0][1] == "Sở, ban, ngành"
    bank = next(r for r in cells if r[1].startswith("Ngân hàng Chính sách xã hội chi nhánh"))
    assert bank[2:] == ["1", "1", "0", "0", "0"]
    finance = next(r for r in cells if r[1] == "Sở Tài chính")
    assert finance[2:] == ["1", "0", "1", "0", "0"]
    farming = next(r for r in cells if r[1] == "Sở Nông nghiệp và Môi trường")
    assert farming[2:] == ["1", "0", "0", "1", "1"]
    assert cells[-1][1] == "Tổng cộng" and cells[-1][2] == "3"


def _excel_sheets_match_stats(content: bytes, stats) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    checked = 0
    for tally in stats.departments:
        sheets = [ws for ws in wb.worksheets if ws["E1"].value == "Vai trò"
                  and tally.department_name.startswith(ws.title)]
        if not tally.forwarded:
            assert sheets == []
            continue
        [ws] = sheets
        states = [ws.cell(row=r, column=9).value for r in range(2, ws.max_row + 1)]
        red = [ws.cell(row=r, column=9).fill.fgColor.rgb.endswith("F8CBAD")
               for r in range(2, ws.max_row + 1)]
        assert len(states) == tally.forwarded
        assert states.count("Đúng hạn") == tally.answered_on_time
        assert states.count("Trả lời chậm") == tally.answered_late
        assert sum(red) == tally.overdue
        assert all(isinstance(ws.cell(row=r, column=2).value, int)
                   for r in range(2, ws.max_row + 1))  # cluster numbers
        assert all(ws.cell(row=r, column=3).value.startswith("LC27-")
                   for r in range(2, ws.max_row + 1))  # receipt codes
        checked += 1
    assert checked == 3
