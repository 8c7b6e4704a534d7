"""Danger in any message: safety information at once, stored urgent, staff alerted now."""

from __future__ import annotations

from tests.chat import Member
from tests.conftest import STAFF_GROUP


async def rows(runtime, sql: str) -> list:
    async with runtime.db.transaction() as conn:
        return await (await conn.execute(sql)).fetchall()


async def test_danger_mid_flow_is_stored_urgent_and_completed_on_the_same_receipt(
        staff_runtime):
    m = Member(staff_runtime, user="d1", channel="telegram")
    for line in ("/start", "1", "nam tam", "4"):
        await m.send(line)
    await m.send("ck e say ruou ve la danh e, e so lam")
    assert "113" in m.text and "1900 969 680" in m.text  # hotlines at once
    stored = await rows(staff_runtime, "SELECT * FROM questions")
    assert len(stored) == 1 and stored[0]["urgent"] == 1 and stored[0]["danger"]
    alerts = await rows(staff_runtime, "SELECT * FROM outbox WHERE purpose = 'danger'")
    assert len(alerts) == 1 and alerts[0]["chat_id"] == STAFF_GROUP
    assert "Xã Nậm Tăm" in alerts[0]["text"] and "/nhan LC27-000001" in alerts[0]["text"]
    await m.send("2")  # ẩn danh
    await m.send("1")  # Gửi
    await m.send("dong y")  # the separate consent for violence data (handlers.sensitive)
    assert "LC27-000001" in m.text
    stored = await rows(staff_runtime, "SELECT * FROM questions")
    assert len(stored) == 1  # completed, not duplicated
    assert (stored[0]["commune"], stored[0]["topic"], stored[0]["urgent"]) == (
        "Xã Nậm Tăm", 4, 1)


async def test_danger_before_consent_alerts_staff_but_stores_no_question(staff_runtime):
    m = Member(staff_runtime, user="d2", channel="telegram")
    await m.send("cứu em với, bố dượng đánh em và dọa giết em")
    assert "113" in m.text
    assert await rows(staff_runtime, "SELECT * FROM questions") == []
    alerts = await rows(staff_runtime, "SELECT * FROM outbox WHERE purpose = 'danger'")
    assert len(alerts) == 1 and "/nhan U" in alerts[0]["text"]
    # Staff can write to her through the bot without learning who she is.
    staff = Member(staff_runtime, user="900", channel="telegram")
    reference = alerts[0]["text"].split("/nhan ")[1].split()[0]
    await staff.send(f"/nhan {reference} Chị ơi, cán bộ Hội sẽ gọi cho chị ngay.")
    sent = await rows(staff_runtime, "SELECT * FROM outbox WHERE purpose = 'staff_message'")
    assert sent[0]["chat_id"] == "d2" and "cán bộ Hội sẽ gọi" in sent[0]["text"]


async def test_ordinary_question_raises_no_alarm(staff_runtime):
    m = Member(staff_runtime, user="d3", channel="telegram")
    for line in ("/start", "1", "nam tam", "1", "vay von lam kinh te chan nuoi ga the nao a"):
        await m.send(line)
    assert "113" not in m.text
    assert await rows(staff_runtime, "SELECT * FROM outbox WHERE purpose = 'danger'") == []


async def test_delete_my_data(staff_runtime):
    m = Member(staff_runtime, user="d4", channel="telegram")
    for line in ("/start", "1", "nam tam", "1", "Xin hỏi về hỗ trợ vay vốn nuôi lợn", "1", "1"):
        await m.send(line)
    await m.send("/xoa_du_lieu")
    await m.press("Xóa thông tin")
    assert "Đã xóa" in m.text and "1 câu hỏi" in m.text
    users = await rows(staff_runtime, "SELECT * FROM users WHERE external_id = 'd4'")
    assert users == []
    question = (await rows(staff_runtime, "SELECT * FROM questions"))[0]
    assert question["text"] == "" and question["cluster_id"]  # still counted, anonymously
    await m.send("/cua_toi")
    assert "chưa gửi" in m.text
