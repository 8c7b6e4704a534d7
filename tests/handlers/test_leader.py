"""Commune leaders relay several questions in a row; their members count in the cluster."""

from __future__ import annotations

from storage import reports
from tests.chat import Member
from tests.conftest import STAFF_TELEGRAM_ID


async def relay(leader: Member, topic: str, text: str, count: str, date: str | None) -> None:
    await leader.send(topic)
    await leader.send(text)
    await leader.send(count)
    if date is None:
        await leader.press("Bỏ qua")
    else:
        await leader.send(date)


async def test_invite_code_makes_a_leader_once(staff_runtime):
    s = Member(staff_runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
    await s.send("/moi_can_bo nam tam")
    code = next(w for w in s.text.split() if w.startswith("CB-"))
    leader = Member(staff_runtime, user="300", channel="telegram")
    await leader.send(f"/can_bo {code}")
    assert "Xã Nậm Tăm" in leader.text
    other = Member(staff_runtime, user="301", channel="telegram")
    await other.send(f"/can_bo {code}")
    assert "đã được dùng" in other.text
    await other.send("/chi_hoi")
    assert "dành cho cán bộ" in other.text


async def test_leader_relays_several_questions_and_counts_show_separately(staff_runtime):
    member = Member(staff_runtime, user="m1")
    for line in ("/start", "1", "muong te", "1",
                 "Chị em muốn vay vốn chăn nuôi bò sinh sản thì làm thủ tục ở đâu ạ?", "2", "1"):
        await member.send(line)
    leader = Member(staff_runtime, user="chi-hoi")  # configured in [[leaders]]
    await leader.send("/chi_hoi")
    assert "đồng ý" in leader.text
    await leader.send("1")
    assert "Xã Mường Tè" in leader.text and "ý kiến thứ 1" in leader.text
    await relay(leader, "1", "Chị em muốn vay vốn chăn nuôi bò sinh sản thì làm thủ tục ở đâu?",
                "85", "20/11/2026")
    assert "thay mặt 85" in leader.text
    await leader.press("Gửi ý kiến tiếp")
    await relay(leader, "2", "Nước sinh hoạt ở bản bị đục vào mùa mưa, xin hỗ trợ bể lọc",
                "40", None)
    await leader.press("Kết thúc")
    assert "2 ý kiến" in leader.text and "125" in leader.text
    async with staff_runtime.db.transaction() as conn:
        clusters = await reports.clusters_of_dialogue(conn, "lai-chau-2027")
        cur = await conn.execute(
            "SELECT represented, meeting_date FROM questions WHERE kind = 'relay' ORDER BY id")
        relays = [tuple(r) for r in await cur.fetchall()]
    assert relays == [(85, "2026-11-20"), (40, None)]
    assert sum(c.relayed for c in clusters) == 125
    assert sum(c.direct for c in clusters) == 1
    s = Member(staff_runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
    await s.send("/cum")
    assert "qua chi hội" in s.text
    await leader.send("/xa_toi")
    # her two relays with receipts; the member's question only counted (test_leader_privacy)
    assert "Xã Mường Tè: 1 câu hỏi" in leader.text and leader.text.count("LC27-") == 2


async def test_bad_counts_and_dates_are_asked_again(staff_runtime):
    leader = Member(staff_runtime, user="chi-hoi")
    await leader.send("/chi_hoi")
    await leader.send("1")
    await leader.send("1")
    await leader.send("Chị em muốn vay vốn chăn nuôi bò sinh sản thì làm thủ tục ở đâu?")
    for bad in ("-5", "mười", "10001", "1e3"):  # "0" is Quay lại, as on every step
        await leader.send(bad)
        assert "từ 1 đến" in leader.text, bad
    await leader.send("1.200")
    assert "ngày nào" in leader.text
    for bad in ("32/13/2026", "hôm qua", "01/01/2099"):
        await leader.send(bad)
        assert "chưa đúng" in leader.text, bad
    await leader.send("15/11")
    assert "thay mặt 1200" in leader.text
