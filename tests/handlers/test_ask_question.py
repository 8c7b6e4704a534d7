"""The member flow, driven through the dispatcher as any channel drives it."""

from __future__ import annotations

import datetime as dt

from bot.runtime import open_runtime
from handlers.types import Incoming, Kind
from tests.chat import Member

QUESTION = "Chị em trong thôn muốn vay vốn chăn nuôi lợn thì làm thủ tục ở đâu ạ?"


async def stored_questions(runtime):
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT * FROM questions ORDER BY id")
        return await cur.fetchall()


async def type_through(m: Member, question: str = QUESTION) -> None:
    await m.send("/start")
    await m.send("1")  # đồng ý
    await m.send("nam tam")
    await m.send("1")  # topic 1
    await m.send(question)
    await m.send("2")  # ẩn danh


async def test_typing_only_numbers_and_names_without_diacritics(runtime):
    m = Member(runtime)
    await type_through(m, "vay von lam kinh te chan nuoi lon o thon em the nao a")
    assert "Xã Nậm Tăm" in m.text and "Ẩn danh" in m.text
    await m.send("gui")  # "Gửi" typed without diacritics
    assert "LC27-000001" in m.text
    assert "25/07/2027" in m.text
    rows = await stored_questions(runtime)
    assert len(rows) == 1
    row = rows[0]
    assert (row["commune"], row["topic"], row["anonymous"]) == ("Xã Nậm Tăm", 1, 1)
    assert row["text"] == "vay von lam kinh te chan nuoi lon o thon em the nao a"


async def test_full_flow_by_buttons(runtime):
    m = Member(runtime, channel="telegram", user="100")
    await m.send("/start")
    await m.press("đồng ý")
    await m.press("Trang sau")
    await m.press("Trang sau")
    assert any("Nậm" in label for label in m.labels())
    await m.press("Nậm Tăm")
    await m.press("Môi trường")
    await m.send("Nước sạch ở bản em bị đục, mùa mưa không dùng được, xin hỏi bao giờ có?")
    await m.press("Ghi tên")
    assert "Lan" in m.text
    await m.press("Gửi")
    assert "Mã tiếp nhận: LC27-000001" in m.text
    rows = await stored_questions(runtime)
    assert [(r["topic"], r["anonymous"], r["channel"]) for r in rows] == [(2, 0, "telegram")]


async def test_no_consent_stores_nothing(runtime):
    m = Member(runtime)
    await m.send("Em muốn hỏi về vay vốn làm kinh tế cho hội viên nghèo")  # typed straight away
    assert "đồng ý" in m.text
    await m.send("2")
    assert "không lưu" in m.text
    assert await stored_questions(runtime) == []
    async with runtime.db.transaction() as conn:
        conv = await (await conn.execute("SELECT state, data FROM conversations")).fetchone()
        user = await (await conn.execute("SELECT consent_at FROM users")).fetchone()
    assert conv is None and user is None  # not even her id (tests/handlers/test_consent_privacy)


async def test_question_typed_before_start_is_kept(runtime):
    m = Member(runtime)
    await m.send("cho em hoi ho tro hoc nghe cho phu nu dan toc thieu so")
    await m.send("1")
    await m.send("muong te")
    await m.send("4")
    assert "ẩn danh" in m.text  # the question step is skipped: she already wrote it
    await m.send("1")
    await m.send("1")
    rows = await stored_questions(runtime)
    assert rows[0]["text"] == "cho em hoi ho tro hoc nghe cho phu nu dan toc thieu so"
    assert rows[0]["commune"] == "Xã Mường Tè"


async def test_short_question_is_kept_and_continued(runtime):
    m = Member(runtime)
    await m.send("/start")
    await m.send("1")
    await m.send("nam tam")
    await m.send("1")
    await m.send("vay von")
    assert "ngắn" in m.text
    await m.send("de nuoi bo sinh san duoc khong")
    assert "ẩn danh" in m.text
    await m.send("1")
    assert "vay von de nuoi bo sinh san duoc khong" in m.text


async def test_too_long_question_is_kept_and_can_be_cut(runtime):
    m = Member(runtime)
    await m.send("/start")
    await m.send("1")
    await m.send("nam tam")
    await m.send("1")
    await m.send("a" * 2500)
    assert "2500" in m.text and "2000" in m.text
    await m.press("phần đầu")
    await m.send("2")
    await m.send("1")
    rows = await stored_questions(runtime)
    assert len(rows[0]["text"]) == 2000


async def test_a_question_typed_at_the_topic_menu_is_kept_though_it_names_a_topic(runtime):
    # Red-team pass 4, F5: "vay vốn" in it picked topic 1 and her words were dropped unsaid.
    typed = "Em muốn hỏi thủ tục vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào ạ"
    m = Member(runtime)
    for line in ("/start", "1", "nam tam"):
        await m.send(line)
    await m.send(typed)
    assert "đang giữ câu chị vừa viết (chưa gửi)" in m.text and "nhóm vấn đề" in m.text
    await m.send("1")
    assert "ẩn danh" in m.text  # not asked to write it again
    await m.send("2")
    await m.send("1")
    rows = await stored_questions(runtime)
    assert rows[0]["text"] == typed and rows[0]["topic"] == 1


async def test_a_topic_named_in_words_at_the_menu_is_still_a_topic(runtime):
    m = Member(runtime)
    for line in ("/start", "1", "nam tam", "vay vốn"):
        await m.send(line)
    assert "Nhóm vấn đề: Kinh tế" in m.text and "Chị viết câu hỏi" in m.text


async def test_an_over_long_question_at_the_topic_menu_is_never_cut_unsaid(runtime):
    # Red-team pass 4, F6: cut to 2,000 characters without a word, and "Hội đã ghi lại".
    typed = "Em kể hoàn cảnh nhà em. " + "x" * 2700 + " PHẦN CUỐI: em hỏi về vay vốn"
    m = Member(runtime)
    for line in ("/start", "1", "nam tam"):
        await m.send(line)
    await m.send(typed)
    assert "ghi lại" not in m.text and "chưa gửi" in m.text
    await m.send("1")
    assert str(len(typed)) in m.text and "Dùng phần đầu" in " ".join(m.labels())
    await m.send("Em hỏi về vay vốn ưu đãi cho hộ nghèo nuôi bò sinh sản ạ")
    assert "ẩn danh" in m.text
    await m.send("2")
    await m.send("1")
    rows = await stored_questions(runtime)
    assert rows[0]["text"] == "Em hỏi về vay vốn ưu đãi cho hộ nghèo nuôi bò sinh sản ạ"


async def test_100000_characters_she_is_told_what_was_cut_never_kept_unchanged(runtime):
    """Red team: after 100,000 characters she read "Hội vẫn giữ nguyên bài của chị" while
    6,000 were kept. She is told the truth; what she sends next replaces the cut draft."""
    m = Member(runtime)
    for line in ("/start", "1", "nam tam", "1"):
        await m.send(line)
    await m.send("Cho em hỏi vay vốn " + "x" * 100_000)
    assert "giữ nguyên" not in m.text
    assert "100019" in m.text and "tạm giữ 2000 ký tự đầu" in m.text
    assert "98019 ký tự phía sau đã bỏ" in m.text
    await m.send("Cho em hỏi vay vốn ưu đãi nuôi bò thì làm thủ tục thế nào ạ")
    assert "ẩn danh" in m.text  # a question of the right length, not joined to the cut one
    await m.send("1")
    await m.send("1")
    rows = await stored_questions(runtime)
    assert rows[0]["text"] == "Cho em hỏi vay vốn ưu đãi nuôi bò thì làm thủ tục thế nào ạ"


async def test_cut_draft_sent_is_exactly_what_she_was_told(runtime):
    m = Member(runtime)
    for line in ("/start", "1", "nam tam", "1"):
        await m.send(line)
    await m.send("y" * 100_000)
    await m.send("123")  # no words: asked again, the cut draft stays
    await m.press("phần đầu")
    await m.send("2")
    await m.send("1")
    rows = await stored_questions(runtime)
    assert rows[0]["text"] == "y" * 2000


async def test_forged_and_stale_buttons_change_nothing(runtime):
    m = Member(runtime, channel="telegram", user="7")
    await m.send("/start")
    await m.press("đồng ý")
    for forged in ("ask:topic:3", "ask:cm:999", "staff:answer:1", "x" * 64, "ask:send"):
        await m.action(forged)
        assert "Nút này đã cũ" in m.text
        assert "xã/phường nào" in m.text  # the same step is asked again
    await m.send("nam tam")
    assert "nhóm vấn đề" in m.text


async def test_start_mid_flow_asks_before_abandoning(runtime):
    m = Member(runtime)
    await m.send("/start")
    await m.send("1")
    await m.send("nam tam")
    await m.send("/start")
    assert "tiếp tục" in m.text.lower()
    await m.press("Tiếp tục")
    assert "nhóm vấn đề" in m.text
    await m.send("/start")
    await m.press("Bắt đầu lại")
    assert "xã/phường nào" in m.text  # consent is remembered; she starts at the commune


async def test_back_and_cancel(runtime):
    m = Member(runtime)
    await m.send("/start")
    await m.send("1")
    await m.send("nam tam")
    await m.send("0")  # Quay lại from the topic step
    assert "xã/phường nào" in m.text
    await m.send("huy")
    assert "Đã dừng" in m.text
    assert await stored_questions(runtime) == []


async def test_edit_goes_back_to_confirmation(runtime):
    m = Member(runtime)
    await type_through(m)
    await m.press("Sửa")
    await m.press("Nhóm vấn đề")
    await m.send("2")
    assert "Chị xem lại" in m.text and "Môi trường" in m.text
    await m.send("1")
    rows = await stored_questions(runtime)
    assert rows[0]["topic"] == 2


async def test_restart_resumes_at_the_same_step(config, clock, tmp_path):
    db = tmp_path / "restart.db"
    first = await open_runtime(config, db, clock=clock)
    m = Member(first)
    await m.send("/start")
    await m.send("1")
    await m.send("nam tam")
    await m.send("1")
    await first.close()
    second = await open_runtime(config, db, clock=clock)
    try:
        m = Member(second)
        await m.send(QUESTION)
        assert "ẩn danh" in m.text
        await m.send("1")
        await m.send("1")
        assert "LC27-000001" in m.text
    finally:
        await second.close()


async def test_duplicate_delivery_is_handled_once(runtime):
    m = Member(runtime)
    await m.send("/start")
    await m.send("1")
    dup = Incoming(channel="terminal", chat_id="lan", user_id="lan", text="nam tam",
                   update_key="dup-1")
    first = await runtime.dispatcher.handle(dup)
    second = await runtime.dispatcher.handle(dup)
    assert first and second == []
    await m.send("1")
    assert "Nhóm vấn đề" in m.text  # still one step on, not two


async def test_two_members_interleaved(runtime):
    a, b = Member(runtime, user="a"), Member(runtime, user="b")
    await a.send("/start")
    await b.send("/start")
    await a.send("1")
    await b.send("1")
    await a.send("nam tam")
    await b.send("muong te")
    await a.send("1")
    await b.send("2")
    await a.send("Chị em muốn vay vốn nuôi gà thả vườn")
    await b.send("Rác thải ở suối bản em không ai thu gom")
    await a.send("1")
    await b.send("2")
    await b.send("1")
    await a.send("1")
    rows = await stored_questions(runtime)
    assert {(r["commune"], r["topic"]) for r in rows} == {("Xã Nậm Tăm", 1), ("Xã Mường Tè", 2)}
    assert sorted(r["receipt"] for r in rows) == ["LC27-000001", "LC27-000002"]


async def test_my_questions(runtime):
    m = Member(runtime)
    await m.send("/cua_toi")
    assert "chưa gửi" in m.text
    await type_through(m)
    await m.send("1")
    await m.send("/cua_toi")
    assert "LC27-000001" in m.text and "Mới nhận" in m.text


async def test_closed_dialogue_says_when(runtime, clock):
    clock.now = dt.datetime(2027, 8, 1, tzinfo=dt.UTC)
    m = Member(runtime)
    await m.send("/start")
    assert "hết hạn" in m.text and "15/07/2027" in m.text


async def test_media_gets_a_kind_reply_and_keeps_the_step(runtime):
    m = Member(runtime)
    await m.send("/start")
    await m.send("1")
    for kind in (Kind.STICKER, Kind.PHOTO, Kind.DOCUMENT):
        await m._handle(Incoming(channel="terminal", chat_id="lan", user_id="lan", kind=kind))
        assert "xã/phường nào" in m.text


async def test_voice_question_is_kept(runtime):
    m = Member(runtime)
    await m.send("/start")
    await m.send("1")
    await m.send("nam tam")
    await m.send("4")
    await m._handle(Incoming(channel="terminal", chat_id="lan", user_id="lan", kind=Kind.VOICE,
                             media_url="https://example.invalid/v.aac"))
    assert "tin nhắn thoại" in m.text
    await m.send("2")
    await m.send("1")
    rows = await stored_questions(runtime)
    assert rows[0]["voice_url"] == "https://example.invalid/v.aac"


async def test_topic_by_name_and_question_written_at_the_topic_step(runtime):
    m = Member(runtime)
    for line in ("/start", "1", "nam tam"):
        await m.send(line)
    await m.send("nuoc sach")
    assert "Môi trường" in m.text  # the topic typed in words
    await m.send("0")
    await m.send("em muon hoi ve vay von cho phu nu ngheo nuoi lon")
    assert "đang giữ câu chị vừa viết" in m.text
    await m.send("1")
    assert "ẩn danh" in m.text  # no need to type the question again
    await m.send("1")
    await m.send("1")
    rows = await stored_questions(runtime)
    assert (rows[0]["topic"], rows[0]["text"]) == (
        1, "em muon hoi ve vay von cho phu nu ngheo nuoi lon")
