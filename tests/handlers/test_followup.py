"""Staff commands after forwarding (issue 16): /chuyen to several departments with checked
deadlines, department answers, the dialogue day, commitments and results reaching each asker
once, /cua_toi saying which agency and by when."""

from __future__ import annotations

import datetime as dt

from bot.runtime import open_runtime
from storage import lifecycle as lc
from tests.chat import Member
from tests.fakes.staff_round import (
    LOAN,
    LOAN_TYPED,
    WATER,
    ask,
    cluster_of,
    relay,
    staff,
    support,
)


async def followups(runtime, chat_id: str | None = None) -> list:
    async with runtime.db.transaction() as conn:
        return await conn.execute_fetchall(
            "SELECT * FROM outbox WHERE purpose LIKE 'followup%' AND (? IS NULL OR chat_id = ?) "
            "ORDER BY id", (chat_id, chat_id))


async def test_forward_to_a_lead_and_cooperating_departments_each_with_a_deadline(staff_runtime):
    cluster = await cluster_of(staff_runtime, await ask(staff_runtime, "21", LOAN))
    s = staff(staff_runtime)
    # 4 = Sở Y tế (lead, 20/07), 2 and 3 (co-operating, the dialogue's 25/07 by default).
    await s.send(f"/chuyen {cluster} 4 20/07/2027 2,3")
    assert "Chủ trì: Sở Y tế — hạn 20/07/2027" in s.text
    assert "Phối hợp: Sở Tài chính — hạn 25/07/2027" in s.text
    assert "Phối hợp: Sở Nội vụ — hạn 25/07/2027" in s.text
    await s.send(f"/xem {cluster}")
    assert "Chủ trì: Sở Y tế" in s.text and "còn " in s.text
    await s.send("/so 4")
    assert f"#{cluster}" in s.text and "Chủ trì" in s.text


async def test_a_deadline_outside_the_dialogue_is_refused_in_vietnamese(staff_runtime):
    cluster = await cluster_of(staff_runtime, await ask(staff_runtime, "21", LOAN))
    s = staff(staff_runtime)
    await s.send(f"/chuyen {cluster} 4 30/11/2026")  # the fixed clock is 01/12/2026
    assert "đã qua" in s.text and "01/12/2026" in s.text
    await s.send(f"/chuyen {cluster} 4 20/07/2027 2 26/07/2027")
    assert "muộn hơn hạn trả lời của đợt đối thoại (25/07/2027)" in s.text
    await s.send(f"/chuyen {cluster} 99")
    assert "Không có sở, ngành \"99\"" in s.text
    await s.send(f"/chuyen {cluster} 4 31/02/2027")
    assert "không đúng" in s.text
    async with staff_runtime.db.transaction() as conn:
        assert await lc.forwards_of_cluster(conn, cluster) == []  # nothing half-stored


async def test_a_disclosure_is_forwarded_from_chat_only_with_a_staff_wording(staff_runtime):
    cluster = await cluster_of(staff_runtime, await ask(
        staff_runtime, "22", "Chồng em đánh em, em sợ lắm, không dám về nhà", "4"))
    s = staff(staff_runtime)
    await s.send(f"/chuyen {cluster} 4")
    assert "tin báo nguy hiểm" in s.text and f"/noidung {cluster}" in s.text
    async with staff_runtime.db.transaction() as conn:
        assert await lc.forwards_of_cluster(conn, cluster) == []
    await s.send(f"/noidung {cluster} Nơi tạm lánh cho phụ nữ bị bạo lực gia đình")
    await s.send(f"/chuyen {cluster} 4")
    assert "Chủ trì: Sở Y tế" in s.text


async def test_commitment_and_result_reach_each_asker_supporter_and_leader_once(
        staff_config, clock, tmp_path):
    staff_runtime = await open_runtime(staff_config, tmp_path / "staff.db", clock=clock)
    try:
        await _commit_then_restart(staff_runtime, staff_config, clock, tmp_path)
    finally:
        await staff_runtime.close()


async def _commit_then_restart(staff_runtime, staff_config, clock, tmp_path):
    asker = await ask(staff_runtime, "21", LOAN)
    cluster = await cluster_of(staff_runtime, asker)
    await support(staff_runtime, "22", LOAN_TYPED)
    relayed = await relay(staff_runtime, WATER)
    s = staff(staff_runtime)
    await s.send(f"/gop {await cluster_of(staff_runtime, relayed)} {cluster}")
    await s.send(f"/chuyen {cluster} 11")
    await s.send(f"/thaoluan {cluster} Giao Ngân hàng CSXH rà soát hồ sơ vay.")
    assert "kết luận" in s.text
    await s.send(f"/camket {cluster} 11 31/03/2027 Giải ngân vốn vay cho các hộ đủ điều kiện")
    assert "Đang báo cho 3 người" in s.text
    for chat in ("21", "22", "chi-hoi"):
        [notice] = await followups(staff_runtime, chat)
        assert "Ngân hàng Chính sách xã hội chi nhánh tỉnh" in notice["text"]
        assert "31/03/2027" in notice["text"]
    m = Member(staff_runtime, user="21", channel="telegram")
    await m.send("/cua_toi")
    assert "nhận giải quyết trước ngày 31/03/2027" in m.text

    # A restart (a second process on the same file), then the result: each hears it once;
    # the commitment is not sent again.
    await staff_runtime.close()
    again = await open_runtime(staff_config, tmp_path / "staff.db", clock=clock)
    try:
        s = staff(again)
        await s.send(f"/dangxuly {cluster}")
        assert "đang được" in s.text
        await s.send(f"/ketqua {cluster} Đã giải ngân cho 12 hộ trong tháng 3.")
        assert "Đang báo kết quả cho 3 người" in s.text
        await s.send(f"/ketqua {cluster} Đã giải ngân thêm.")
        assert "đã có kết quả" in s.text
        for chat in ("21", "22", "chi-hoi"):
            commitment, result = await followups(again, chat)
            assert "12 hộ" in result["text"] and "31/03/2027" in commitment["text"]
        # A woman who supports it now hears only the result, once.
        late = await support(again, "23", LOAN_TYPED)
        assert late.text
        [only] = await followups(again, "23")
        assert "12 hộ" in only["text"]
        m = Member(again, user="21", channel="telegram")
        await m.send("/cua_toi")
        assert "Đã giải quyết: Đã giải ngân cho 12 hộ" in m.text
    finally:
        await again.close()


async def test_steps_in_the_wrong_order_get_a_clear_reply(staff_runtime, clock):
    cluster = await cluster_of(staff_runtime, await ask(staff_runtime, "21", LOAN))
    s = staff(staff_runtime)
    await s.send(f"/dangxuly {cluster}")
    assert "chưa có cam kết" in s.text
    await s.send(f"/camket {cluster} 4 01/01/2026 Việc gì đó")
    assert "đã qua" in s.text
    await s.send(f"/sotraloi {cluster} 4 Sở Y tế trả lời.")
    assert "chưa được chuyển cho Sở Y tế" in s.text
    await s.send(f"/chuyen {cluster} 4 10/12/2026")
    clock.now += dt.timedelta(days=14)  # 15/12: after its 10/12 deadline
    await s.send(f"/sotraloi {cluster} 4 Sở Y tế đã bố trí bác sĩ.")
    assert "chậm" in s.text
    m = Member(staff_runtime, user="21", channel="telegram")
    await m.send("/camket 1 4 01/01/2028 x")
    assert "chỉ dành cho cán bộ" in m.text
