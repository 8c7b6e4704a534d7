"""Staff review: refusals for non-staff, clusters, forwarding, answers reaching every asker."""

from __future__ import annotations

from tests.chat import Member
from tests.conftest import STAFF_GROUP, STAFF_TELEGRAM_ID


async def ask(runtime, user: str, question: str, topic: str = "1", anonymous: bool = True,
              channel: str = "telegram") -> str:
    m = Member(runtime, user=user, channel=channel)
    for line in ("/start", "1", "nam tam", topic, question):
        await m.send(line)
    if "Gửi câu hỏi cho Hội" in m.labels():  # a disclosure: she chooses to go on
        await m.press("Gửi câu hỏi cho Hội")
    if "Ủng hộ" in " ".join(m.labels()):
        await m.press("Câu của tôi khác")
    await m.send("2" if anonymous else "1")
    await m.send("1")
    receipt = next(w for w in m.text.split() if w.startswith("LC27-"))
    return receipt


async def outbox(runtime, purpose: str | None = None) -> list:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute(
            "SELECT * FROM outbox WHERE ? IS NULL OR purpose = ? ORDER BY id", (purpose, purpose))
        return await cur.fetchall()


async def cluster_of(runtime, receipt: str) -> int:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT cluster_id FROM questions WHERE receipt = ?", (receipt,))
        return (await cur.fetchone())[0]


def staff(runtime) -> Member:
    return Member(runtime, user=STAFF_TELEGRAM_ID, channel="telegram")


async def test_staff_commands_refused_for_members(staff_runtime):
    receipt = await ask(staff_runtime, "11", "Xin hỏi về hỗ trợ vay vốn chăn nuôi gà")
    cluster = await cluster_of(staff_runtime, receipt)
    m = Member(staff_runtime, user="12", channel="telegram")
    for command in ("/cum", f"/xem {cluster}", f"/traloi {cluster}", f"/tuchoi {cluster} x y z",
                    "/thongke", "/xuat xlsx", "/thongbao", "/moi_can_bo nam tam"):
        await m.send(command)
        assert "chỉ dành cho cán bộ" in m.text, command
    await m.action(f"st:answer:{cluster}")
    assert "chỉ dành cho cán bộ" in m.text
    assert await outbox(staff_runtime, "answer") == []


async def test_answer_reaches_every_asker_and_supporter_once(staff_runtime):
    first = await ask(staff_runtime, "21", "Chị em muốn vay vốn chăn nuôi bò sinh sản thì làm "
                                           "thủ tục ở đâu ạ?")
    second = await ask(staff_runtime, "22", "Rác thải ở suối bản em không ai thu gom", topic="2")
    cluster = await cluster_of(staff_runtime, first)
    s = staff(staff_runtime)
    await s.send("/cum")
    assert f"#{cluster}" in s.text
    await s.send(f"/chuyen {cluster} 2")
    assert "Sở Tài chính" in s.text and "25/07/2027" in s.text
    await s.send(f"/traloi {cluster}")
    await s.send("Ngân hàng Chính sách xã hội cho vay tối đa 100 triệu đồng, liên hệ tổ tiết kiệm.")
    await s.press("Ngân hàng Chính sách")
    assert "Sẽ báo cho 1 người" in s.text
    await s.press("Lưu và báo")
    assert "Đã lưu trả lời" in s.text
    sent = await outbox(staff_runtime, "answer")
    assert len(sent) == 1 and first in sent[0]["text"] and sent[0]["chat_id"] == "21"
    assert "100 triệu" in sent[0]["text"]
    # Pressing an old "Ghi trả lời" button again and saving again tells nobody twice.
    await s.action(f"st:answer:{cluster}")
    await s.send("Ngân hàng Chính sách xã hội cho vay tối đa 100 triệu đồng (nhắc lại).")
    await s.press("Ngân hàng Chính sách")
    await s.press("Lưu và báo")
    assert len(await outbox(staff_runtime, "answer")) == 1
    member = Member(staff_runtime, user="21", channel="telegram")
    await member.send("/cua_toi")
    assert "Đã trả lời" in member.text and "100 triệu" in member.text
    other = Member(staff_runtime, user="22", channel="telegram")
    await other.send("/cua_toi")
    assert second in other.text and "Mới nhận" in other.text


async def test_reject_tells_the_asker_kindly_with_the_reason(staff_runtime):
    receipt = await ask(staff_runtime, "31", "Cho em hỏi giá vé xe khách đi Hà Nội bao nhiêu",
                        topic="7")
    s = staff(staff_runtime)
    await s.send(f"/tuchoi {receipt} Nội dung không thuộc chủ đề đối thoại năm nay")
    assert "không phù hợp" in s.text
    sent = await outbox(staff_runtime, "rejected")
    assert len(sent) == 1 and "không thuộc chủ đề" in sent[0]["text"]
    m = Member(staff_runtime, user="31", channel="telegram")
    await m.send("/cua_toi")
    assert "Không phù hợp chủ đề" in m.text and "không thuộc chủ đề" in m.text


async def test_anonymous_asker_is_never_named_and_phone_numbers_are_masked(staff_runtime):
    await ask(staff_runtime, "41", "Nhà em ở bản Nậm Tăm, số điện thoại 0912345678, muốn hỏi "
                                   "về vay vốn", anonymous=True)
    async with staff_runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT cluster_id FROM questions")
        (cluster,) = await cur.fetchone()
    s = staff(staff_runtime)
    await s.send(f"/xem {cluster}")
    assert "Ẩn danh" in s.text and "Lan" not in s.text and "41" not in s.text.split("#")[0]
    assert "0912345678" not in s.text and "678" in s.text


async def test_merge_and_split_clusters(staff_runtime):
    a = await ask(staff_runtime, "51", "Xin hỏi về hỗ trợ vay vốn nuôi lợn cho hộ nghèo")
    b = await ask(staff_runtime, "52", "Trường học ở bản em thiếu phòng học cho các cháu",
                  topic="4")
    ca, cb = await cluster_of(staff_runtime, a), await cluster_of(staff_runtime, b)
    s = staff(staff_runtime)
    await s.send(f"/gop {cb} {ca}")
    assert "Đã gộp" in s.text
    assert await cluster_of(staff_runtime, b) == ca
    await s.send(f"/xem {ca}")
    assert "2 người hỏi" in s.text
    await s.send(f"/tach {b}")
    assert await cluster_of(staff_runtime, b) not in (ca, cb)


async def test_digest_and_exports_from_the_staff_chat(staff_runtime):
    await ask(staff_runtime, "61", "Xin hỏi về hỗ trợ vay vốn nuôi lợn cho hộ nghèo")
    s = staff(staff_runtime)
    await s.send("/tonghop")
    assert "TỔNG HỢP" in s.text and "Kinh tế" in s.text
    assert s.replies[0].image and s.replies[0].image.startswith(b"\x89PNG")
    await s.send("/xuat docx")
    name, content = s.replies[-1].document
    assert name.endswith(".docx") and content[:2] == b"PK"
    await s.send("/thongke")
    assert "SỐ LIỆU" in s.text


async def test_announcement_goes_once_to_members_who_consented(staff_runtime):
    await ask(staff_runtime, "71", "Xin hỏi về hỗ trợ vay vốn nuôi lợn cho hộ nghèo")
    await ask(staff_runtime, "72", "Xin hỏi về nước sạch cho bản em, mùa khô thiếu nước", "2")
    opted_out = Member(staff_runtime, user="72", channel="telegram")
    await opted_out.send("/tat_thong_bao")
    s = staff(staff_runtime)
    await s.send("/thongbao")
    assert "1 hội viên" in s.text
    await s.press("Gửi cho")
    await s.send("/thongbao")
    await s.press("Gửi cho")
    sent = await outbox(staff_runtime, "announcement")
    assert [r["chat_id"] for r in sent] == ["71"]


async def test_urgent_question_alerts_the_staff_group(staff_runtime):
    await ask(staff_runtime, "81", "Chồng em say rượu về hay đánh em và các con, em phải làm "
                                   "sao", topic="4")
    alerts = await outbox(staff_runtime, "danger")
    assert alerts and alerts[0]["chat_id"] == STAFF_GROUP and alerts[0]["priority"] == 10
