"""Danger in any message: hotlines at once, staff alerted (truthfully), then a calm conversation.

Each test types what a woman, a staff member or a commune leader would, through the dispatcher
as a channel does, and checks what she sees and what was queued for staff.
"""

from __future__ import annotations

from tests.chat import Member
from tests.conftest import STAFF_GROUP

HOTLINES = ("111", "113", "1900 969 680")
CHEERFUL = ("Xin chào", "Chào chị", "Trang 1/", "Chưa tìm thấy", "/2027", "tháng 7", "25/07")


async def rows(runtime, sql: str, *args) -> list:
    async with runtime.db.transaction() as conn:
        return await (await conn.execute(sql, args)).fetchall()


async def alerts(runtime, purpose: str = "danger") -> list:
    return await rows(runtime, "SELECT * FROM outbox WHERE purpose = ? ORDER BY id", purpose)


def calm(m: Member) -> None:
    """Hotlines, a choice, nothing cheerful and no date months away."""
    assert all(h in m.text for h in HOTLINES), m.text
    for word in CHEERFUL:
        assert word not in m.text, (word, m.text)
    assert m.labels() == ["Gửi câu hỏi cho Hội", "Dừng ở đây"]


async def test_danger_mid_flow_is_stored_urgent_and_completed_on_the_same_receipt(
        staff_runtime):
    m = Member(staff_runtime, user="d1", channel="telegram")
    for line in ("/start", "1", "nam tam", "4"):
        await m.send(line)
    await m.send("ck e say ruou ve la danh e, e so lam")
    calm(m)
    assert "Hội đã báo cho cán bộ" in m.text and "LC27-000001" in m.text
    stored = await rows(staff_runtime, "SELECT * FROM questions")
    assert len(stored) == 1 and stored[0]["urgent"] == 1 and stored[0]["danger"]
    sent = await alerts(staff_runtime)
    assert len(sent) == 1 and sent[0]["chat_id"] == STAFF_GROUP
    assert "Xã Nậm Tăm" in sent[0]["text"] and "/nhan LC27-000001" in sent[0]["text"]
    await m.press("Gửi câu hỏi cho Hội")  # her message is her question: on to anonymity
    await m.send("2")  # ẩn danh
    await m.send("1")  # Gửi
    await m.send("dong y")  # the separate consent for violence data (handlers.sensitive)
    assert "LC27-000001" in m.text
    assert "2027" not in m.text  # no written answer promised months away
    stored = await rows(staff_runtime, "SELECT * FROM questions")
    assert len(stored) == 1  # completed, not duplicated
    assert (stored[0]["commune"], stored[0]["topic"], stored[0]["urgent"]) == (
        "Xã Nậm Tăm", 4, 1)


async def test_disclosure_at_the_commune_step_is_not_echoed_or_answered_with_a_list(
        staff_runtime):
    m = Member(staff_runtime, user="d5", channel="telegram")
    for line in ("/start", "1"):
        await m.send(line)
    assert "Trang 1/" in m.text  # she is at the commune list
    await m.send("chồng em vừa đánh em chảy máu, em đang trốn ngoài nương")
    calm(m)
    assert "trốn ngoài nương" not in m.text  # never her own words back
    await m.press("Dừng ở đây")
    assert "113" in m.text and not m.last.options


async def test_danger_before_consent_alerts_staff_but_stores_no_question(staff_runtime):
    m = Member(staff_runtime, user="d2", channel="telegram")
    await m.send("cứu em với, bố dượng đánh em và dọa giết em")
    calm(m)
    assert await rows(staff_runtime, "SELECT * FROM questions") == []
    sent = await alerts(staff_runtime)
    assert len(sent) == 1 and "/nhan U" in sent[0]["text"]
    # Staff can write to her through the bot without learning who she is.
    staff = Member(staff_runtime, user="900", channel="telegram")
    reference = sent[0]["text"].split("/nhan ")[1].split()[0]
    await staff.send(f"/nhan {reference} Chị ơi, cán bộ Hội sẽ gọi cho chị ngay.")
    out = await alerts(staff_runtime, "staff_message")
    assert out[0]["chat_id"] == "d2" and "cán bộ Hội sẽ gọi" in out[0]["text"]


async def test_going_on_after_a_disclosure_has_no_welcome(staff_runtime):
    m = Member(staff_runtime, user="d6", channel="telegram")
    await m.send("Con gái em 14 tuổi, chủ nhật này bố nó gả cho nhà kia lấy tiền, cứu cháu")
    calm(m)
    await m.press("Gửi câu hỏi cho Hội")
    assert "Xin chào" not in m.text and "đồng ý" in m.text.lower()  # consent only


async def test_the_alert_masks_her_phone(staff_runtime):
    m = Member(staff_runtime, user="d7", channel="telegram")
    await m.send("Em tên Hoa, số 0912345678, chồng em đang cầm dao đòi giết em")
    sent = await alerts(staff_runtime)
    assert len(sent) == 1
    assert "0912345678" not in sent[0]["text"] and "…678" in sent[0]["text"]


async def test_an_edited_message_with_danger_words_is_screened(staff_runtime):
    m = Member(staff_runtime, user="d8", channel="telegram")
    await m.send("chồng em đang đánh em, cứu em", is_edit=True)
    assert all(h in m.text for h in HOTLINES)
    assert len(await alerts(staff_runtime)) == 1
    await m.send("cho em hỏi vay vốn nuôi bò", is_edit=True)
    assert "không đọc tin đã sửa" in m.text and "113" not in m.text


async def test_policy_questions_on_child_marriage_are_normal_questions(staff_runtime):
    for user, text in (("p1", "Đề nghị tỉnh có giải pháp chống tảo hôn ở vùng đồng bào"),
                       ("p2", "Xin hỏi mức phạt đối với việc tổ chức tảo hôn hiện nay")):
        m = Member(staff_runtime, user=user, channel="telegram")
        await m.send(text)
        assert "113" not in m.text and "Xin chào" in m.text  # the ordinary flow
        for line in ("1", "nam tam", "4"):
            await m.send(line)
        if "Ủng hộ" in m.text or "giống" in m.text:
            await m.press("khác")
        await m.send("2")
        await m.send("1")
        assert "LC27-" in m.text
    assert await alerts(staff_runtime) == [] and await alerts(staff_runtime, "urgent") == []
    clusters = await rows(staff_runtime, "SELECT urgent FROM clusters")
    assert clusters and all(c["urgent"] == 0 for c in clusters)


async def test_maybe_gets_hotlines_and_a_question_but_no_alarm(staff_runtime):
    m = Member(staff_runtime, user="d9", channel="telegram")
    await m.send("Em muốn hỏi khi bị bạo lực gia đình thì báo ai")
    assert all(h in m.text for h in HOTLINES) and "không ạ?" in m.text
    assert await alerts(staff_runtime) == []
    await m.press("Không, tôi muốn gửi câu hỏi")
    assert "đồng ý" in m.text.lower()  # on to her question, the words kept as her draft
    assert await alerts(staff_runtime) == []


async def test_maybe_then_yes_escalates(staff_runtime):
    m = Member(staff_runtime, user="d10", channel="telegram")
    await m.send("Em muốn hỏi khi bị bạo lực gia đình thì báo ai")
    await m.press("Có, cần giúp ngay")
    calm(m)
    sent = await alerts(staff_runtime)
    assert len(sent) == 1 and "báo ai" in sent[0]["text"]


async def test_staff_writing_about_child_marriage_raise_no_alarm(staff_runtime):
    staff = Member(staff_runtime, user="900", channel="telegram")
    await staff.send("Trả lời: tảo hôn, ép con gái 14 tuổi lấy chồng là vi phạm pháp luật")
    assert "113" not in staff.text
    assert await alerts(staff_runtime) == []


async def test_a_leader_relaying_gets_no_hotline_reply_and_staff_no_member_alert(staff_runtime):
    leader = Member(staff_runtime, user="chi-hoi")  # configured in [[leaders]]
    await leader.send("/chi_hoi")
    await leader.send("1")
    await leader.send("4")
    await leader.send("Chi hội đề nghị tuyên truyền phòng chống tảo hôn, bạo lực gia đình")
    assert "113" not in leader.text
    assert await alerts(staff_runtime) == []


async def test_a_leader_relaying_a_girl_in_danger_is_stored_urgent_and_staff_hear_now(
        staff_runtime):
    leader = Member(staff_runtime, user="chi-hoi")
    for line in ("/chi_hoi", "1", "4",
                 "Cháu Lan 14 tuổi ở thôn 3, bố mẹ bắt cưới vào chủ nhật này, cháu khóc suốt",
                 "1"):
        await leader.send(line)
    await leader.press("Bỏ qua")
    assert "113" not in leader.text and "LC27-" in leader.text
    stored = await rows(staff_runtime, "SELECT urgent, kind FROM questions")
    assert [(r["urgent"], r["kind"]) for r in stored] == [(1, "relay")]
    assert len(await alerts(staff_runtime, "urgent")) == 1
    assert await alerts(staff_runtime) == []  # no member escalation for the leader herself


async def test_the_commune_leader_is_alerted_too_without_her_words(staff_runtime):
    m = Member(staff_runtime, user="d11", channel="telegram")
    for line in ("/start", "1", "muong te", "4"):
        await m.send(line)
    await m.send("Chồng em tối qua lại đánh em, giờ em sợ không dám về nhà")
    assert "Hội phụ nữ Xã Mường Tè" in m.text
    sent = await alerts(staff_runtime, "danger_commune")
    assert [(r["channel"], r["chat_id"]) for r in sent] == [("terminal", "chi-hoi")]
    assert "không dám về nhà" not in sent[0]["text"] and "Xã Mường Tè" in sent[0]["text"]


async def test_with_no_staff_chat_she_is_not_told_staff_were_alerted(runtime):
    # The shipped config: staff_chat_id = 0, no leaders.
    m = Member(runtime, user="d12", channel="telegram")
    await m.send("chồng em đang cầm dao đòi giết em, cứu em")
    assert all(h in m.text for h in HOTLINES)
    assert "đã báo" not in m.text and "chưa chuyển được" in m.text
    assert await rows(runtime, "SELECT * FROM outbox") == []


async def test_ordinary_question_raises_no_alarm(staff_runtime):
    m = Member(staff_runtime, user="d3", channel="telegram")
    for line in ("/start", "1", "nam tam", "1", "vay von lam kinh te chan nuoi ga the nao a"):
        await m.send(line)
    assert "113" not in m.text
    assert await alerts(staff_runtime) == []


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


async def test_hotlines_wait_in_the_outbox_until_her_reply_was_sent(staff_runtime, clock):
    """If the bot dies between storing her disclosure and sending the reply, the outbox still
    has the hotlines for her, due a few seconds later; once the reply is sent they are
    withdrawn, so she never gets them twice."""
    from handlers.types import Incoming

    woman = Incoming(channel="telegram", chat_id="d40", user_id="d40", update_key="k40",
                     text="chồng em đang cầm dao đòi giết em, cứu em")
    replies = await staff_runtime.dispatcher.handle(woman)  # handled, not yet sent
    backup = await rows(staff_runtime,
                        "SELECT * FROM outbox WHERE chat_id = 'd40' AND purpose = 'hotlines'")
    assert len(backup) == 1 and all(h in backup[0]["text"] for h in HOTLINES)
    assert backup[0]["not_before"] > backup[0]["created_at"]  # not before the reply had its go
    await staff_runtime.dispatcher.delivered(replies)  # the channel sent the reply
    assert await rows(staff_runtime,
                      "SELECT * FROM outbox WHERE chat_id = 'd40' AND purpose = 'hotlines'") == []


async def test_unsure_mid_question_on_a_numbered_channel_asks_first_and_1_is_help(
        staff_runtime):
    # Red-team pass 3: the gentle note came with the flow's next menu in the same turn, so on
    # the terminal (and Zalo) "1" chose "Ghi tên tôi" and filed her plea; staff never heard.
    m = Member(staff_runtime, user="d31")  # the terminal: options are numbers
    for line in ("/start", "1", "nam tam", "4"):
        await m.send(line)
    await m.send("Em muốn hỏi khi bị bạo lực gia đình thì báo ai")
    assert all(h in m.text for h in HOTLINES) and "không ạ?" in m.text
    assert "Ghi tên" not in m.text and await alerts(staff_runtime) == []
    await m.send("1")
    calm(m)
    assert len(await alerts(staff_runtime)) == 1


async def test_unsure_mid_question_then_no_keeps_her_words_as_her_question(staff_runtime):
    m = Member(staff_runtime, user="d32")
    for line in ("/start", "1", "nam tam", "4"):
        await m.send(line)
    await m.send("Em muốn hỏi khi bị bạo lực gia đình thì báo ai")
    await m.send("2")  # Không, tôi muốn gửi câu hỏi
    assert "ghi tên mình hay gửi ẩn danh" in m.text  # on to anonymity, her words kept
    await m.send("2")  # ẩn danh
    await m.send("1")  # Gửi: she said she is not in danger, so no violence-data consent
    assert "LC27-000001" in m.text
    stored = await rows(staff_runtime, "SELECT text, urgent FROM questions")
    assert [(r["text"], r["urgent"]) for r in stored] == [
        ("Em muốn hỏi khi bị bạo lực gia đình thì báo ai", 0)]
    assert await alerts(staff_runtime) == []


async def test_asked_if_in_danger_she_answers_in_words_and_is_heard(staff_runtime):
    for user, answer in (("d33", "Tôi cần giúp ngay"), ("d34", "🆘"),
                         ("d35", "chồng em vẫn đang đánh em")):
        m = Member(staff_runtime, user=user)
        await m.send("Em muốn hỏi khi bị bạo lực gia đình thì báo ai")
        before = len(await alerts(staff_runtime))
        await m.send(answer)
        calm(m)
        assert len(await alerts(staff_runtime)) == before + 1, user
