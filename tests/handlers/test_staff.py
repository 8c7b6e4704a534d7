"""Staff review: refusals for non-staff, clusters, forwarding, answers reaching every asker."""

from __future__ import annotations

import itertools
import re

import pytest

from handlers.types import Incoming, Kind
from tests.chat import Member
from tests.conftest import STAFF_GROUP, STAFF_TELEGRAM_ID
from tests.fakes.staff_round import LOAN, LOAN_TYPED, WATER, ask, cluster_of, relay, staff, support


async def outbox(runtime, purpose: str | None = None) -> list:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute(
            "SELECT * FROM outbox WHERE ? IS NULL OR purpose = ? ORDER BY id", (purpose, purpose))
        return await cur.fetchall()


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
    # Pressing an old "Ghi trả lời" button again and saving the same answer tells nobody twice.
    await s.action(f"st:answer:{cluster}")
    await s.send("Ngân hàng Chính sách xã hội cho vay tối đa 100 triệu đồng, liên hệ tổ tiết kiệm.")
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


@pytest.mark.parametrize("hidden", ["\u00ad", "\u061c", "\U000e0030", "\u034f", "\ufe0f"])
async def test_a_phone_with_invisible_characters_inside_is_masked_all_the_same(staff_runtime,
                                                                                hidden):
    # Pasted with soft hyphens, a bidi mark or tag characters inside, it looks like any phone
    # number on screen (red-team pass 4, F10: shown in full in /xem and the export).
    phone = hidden.join(("0987", "654", "321"))
    await ask(staff_runtime, "42", f"Em muốn hỏi về vay vốn nuôi bò, gọi em {phone} nhé")
    async with staff_runtime.db.transaction() as conn:
        [row] = await conn.execute_fetchall("SELECT cluster_id, text FROM questions")
    assert hidden not in row["text"]  # stored clean
    s = staff(staff_runtime)
    await s.send(f"/xem {row['cluster_id']}")
    digits = re.sub(r"\D", "", s.text)
    assert "987654" not in digits
    assert "[SĐT ẩn …321]" in s.text


class InGroup(Member):
    """A staff member typing and pressing buttons in a group chat, as Telegram sends it."""

    def __init__(self, runtime, group: str) -> None:
        super().__init__(runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
        self.group = group

    async def send(self, text: str, **extra) -> list:
        return await self._handle(Incoming(channel="telegram", chat_id=self.group,
                                           user_id=self.user, text=text, is_group=True,
                                           update_key=f"g{next(_group_keys)}"))

    async def action(self, data: str) -> list:
        return await self._handle(Incoming(channel="telegram", chat_id=self.group,
                                           user_id=self.user, kind=Kind.ACTION, action=data,
                                           is_group=True, update_key=f"g{next(_group_keys)}"))


_group_keys = itertools.count(1)


async def test_staff_commands_work_in_the_staff_group_only(staff_runtime):
    # A staff member is in a family or commune group with the bot (anyone can add a bot to a
    # group): /xem, /cum, /xuat there would post women's questions to strangers (red-team
    # pass 4, F1). In the staff group her commands and the cluster buttons work (F2).
    await ask(staff_runtime, "43", "Em muốn hỏi về vay vốn nuôi bò ở bản Khuổi Phạc",
              anonymous=False)
    async with staff_runtime.db.transaction() as conn:
        [row] = await conn.execute_fetchall("SELECT cluster_id FROM questions")
    cluster = row["cluster_id"]
    foreign = InGroup(staff_runtime, "-2002")
    for command in (f"/xem {cluster}", "/cum", "/xuat xlsx", "/tonghop", f"/duyet {cluster}"):
        await foreign.send(command)
        assert "Khuổi Phạc" not in foreign.text and "Lan" not in foreign.text, command
        assert all(r.document is None for r in foreign.replies), command
        assert "chỉ dùng trong nhóm cán bộ" in foreign.text, command
    await foreign.action(f"st:open:{cluster}")
    assert foreign.replies == []
    async with staff_runtime.db.transaction() as conn:
        [status] = await conn.execute_fetchall("SELECT status FROM clusters")
    assert status[0] != "da_duyet"  # /duyet from the foreign group changed nothing
    staff_group = InGroup(staff_runtime, STAFF_GROUP)
    await staff_group.send(f"/xem {cluster}")
    assert "Khuổi Phạc" in staff_group.text
    await staff_group.send("/cum")
    await staff_group.action(f"st:open:{cluster}")
    assert "Khuổi Phạc" in staff_group.text


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


# -- answers that change, and people who arrive after the answer (issue 12, item 6) ------------

FIRST = "Ngân hàng Chính sách xã hội cho vay tối đa 50 triệu đồng, liên hệ tổ tiết kiệm ở thôn."
SECOND = ("Ngân hàng Chính sách xã hội cho vay tối đa 100 triệu đồng trong 5 năm, "
          "hồ sơ nộp qua tổ tiết kiệm và vay vốn ở thôn.")


async def give_answer(s: Member, cluster: int, text: str, agency: str = "Ngân hàng Chính sách"
                      ) -> tuple[str, str]:
    """Staff record an answer; (what the confirm step said, what the save said)."""
    await s.send(f"/traloi {cluster}")
    await s.send(text)
    await s.press(agency)
    confirm = s.text
    await s.press("Lưu và báo")
    return confirm, s.text


async def told(runtime, chat_id: str) -> list[str]:
    """The answer notices queued for one chat, oldest first."""
    async with runtime.db.transaction() as conn:
        cur = await conn.execute(
            "SELECT text FROM outbox WHERE chat_id = ? AND purpose LIKE 'answer%' ORDER BY id",
            (chat_id,))
        return [r["text"] for r in await cur.fetchall()]


async def test_corrected_answer_reaches_everyone_once_saying_what_changed(staff_runtime, clock):
    import datetime as dt

    asker = await ask(staff_runtime, "21", LOAN)
    cluster = await cluster_of(staff_runtime, asker)
    supporter = await support(staff_runtime, "22", LOAN_TYPED)
    relayed = await relay(staff_runtime, WATER)
    s = staff(staff_runtime)
    await s.send(f"/gop {await cluster_of(staff_runtime, relayed)} {cluster}")
    confirm, saved = await give_answer(s, cluster, FIRST)
    assert "Sẽ báo cho 3 người" in confirm and "Đang báo cho 3 người" in saved

    clock.now += dt.timedelta(days=2)
    confirm, saved = await give_answer(s, cluster, SECOND, agency="Sở Tài chính")
    assert "sửa" in confirm and "Sẽ báo cho 3 người" in confirm
    assert "3 người" in saved and "0 người" not in saved
    for chat, receipt in (("21", asker), ("22", None), ("chi-hoi", relayed)):
        first, correction = await told(staff_runtime, chat)
        assert FIRST in first and "100 triệu" not in first
        assert SECOND in correction and "Sở Tài chính" in correction  # the new answer in full
        assert "đính chính" in correction.lower()
        assert "50 triệu" in correction  # and, briefly, what it replaces
        if receipt:
            assert receipt in correction
    assert "LC27-" in supporter.text

    # The same text saved again (an old button, a double press) is no new revision: no spam.
    confirm, saved = await give_answer(s, cluster, "  " + SECOND + " ", agency="Sở Tài chính")
    assert "không thay đổi" in saved and "Sẽ báo cho 0 người" in confirm
    assert [len(await told(staff_runtime, c)) for c in ("21", "22", "chi-hoi")] == [2, 2, 2]

    async with staff_runtime.db.transaction() as conn:
        cur = await conn.execute(
            "SELECT revision, answer, agency, recorded_by, recorded_at FROM answer_revisions "
            "WHERE cluster_id = ? ORDER BY revision", (cluster,))
        history = [tuple(r) for r in await cur.fetchall()]
    assert history == [
        (1, FIRST, "Ngân hàng Chính sách xã hội chi nhánh tỉnh", f"telegram:{STAFF_TELEGRAM_ID}",
         "2026-12-01T03:00:00+00:00"),
        (2, SECOND, "Sở Tài chính", f"telegram:{STAFF_TELEGRAM_ID}",
         "2026-12-03T03:00:00+00:00"),
    ]
    member = Member(staff_runtime, user="21", channel="telegram")
    await member.send("/cua_toi")
    assert "100 triệu" in member.text and "50 triệu" not in member.text
    await s.send(f"/xem {cluster}")
    assert "100 triệu" in s.text and "lần 2" in s.text


async def test_supporter_of_an_answered_question_is_told_the_answer_at_once(staff_runtime):
    asker = await ask(staff_runtime, "41", LOAN)
    cluster = await cluster_of(staff_runtime, asker)
    s = staff(staff_runtime)
    await give_answer(s, cluster, FIRST)
    m = await support(staff_runtime, "42", LOAN_TYPED)
    receipt = next(w for w in m.text.split() if w.startswith("LC27-"))
    assert "đã có trả lời" in m.text and "sẽ báo câu trả lời" not in m.text.lower()
    [notice] = await told(staff_runtime, "42")  # queued with her support, not someday
    assert receipt in notice and FIRST in notice
    # Supporting again is refused kindly, with no promise of a notice that will never come.
    m2 = Member(staff_runtime, user="42", channel="telegram")
    for line in ("/start", "1", "nam tam", "1", LOAN_TYPED):
        await m2.send(line)
    await m2.press("Ủng hộ câu 1")
    assert "đã gửi hoặc ủng hộ" in m2.text and "khi có trả lời" not in m2.text
    assert len(await told(staff_runtime, "42")) == 1
    # A correction later reaches her too, once.
    await give_answer(s, cluster, SECOND)
    assert len(await told(staff_runtime, "42")) == 2


async def test_merging_into_an_answered_cluster_tells_those_merged_in_once(staff_runtime):
    asker = await ask(staff_runtime, "51", LOAN)
    target = await cluster_of(staff_runtime, asker)
    other = await ask(staff_runtime, "52", "Xin hỗ trợ vốn cho chị em nuôi bò, thủ tục thế nào",
                      topic="2")
    source = await cluster_of(staff_runtime, other)
    relayed = await relay(staff_runtime, WATER)
    relay_cluster = await cluster_of(staff_runtime, relayed)
    s = staff(staff_runtime)
    await give_answer(s, target, SECOND)
    # The other cluster had its own answer before staff saw it is the same question.
    await give_answer(s, source, FIRST)
    assert len(await told(staff_runtime, "52")) == 1

    await s.send(f"/gop {source} {target}")
    assert "Đã gộp" in s.text and "1 người" in s.text
    _, update = await told(staff_runtime, "52")
    assert other in update and SECOND in update and "50 triệu" in update
    await s.send(f"/gop {relay_cluster} {target}")
    [notice] = await told(staff_runtime, "chi-hoi")
    assert relayed in notice and SECOND in notice
    # Merging again (an old message) tells nobody again, and the asker of the target
    # cluster never hears the same answer twice.
    await s.send(f"/gop {relay_cluster} {target}")
    assert [len(await told(staff_runtime, c)) for c in ("51", "52", "chi-hoi")] == [1, 2, 1]


async def test_new_question_or_relay_joining_an_answered_cluster_is_told(staff_runtime,
                                                                         monkeypatch):
    import types

    asker = await ask(staff_runtime, "61", LOAN)
    cluster = await cluster_of(staff_runtime, asker)
    await give_answer(staff(staff_runtime), cluster, FIRST)

    async def joins_answered(conn, dialogue_id, text, topic):
        return types.SimpleNamespace(cluster_id=cluster)  # a matcher that joins it anyway

    async def nothing_similar(conn, dialogue_id, text, topic):
        return []

    monkeypatch.setattr(staff_runtime.services.matcher, "best_cluster", joins_answered)
    monkeypatch.setattr(staff_runtime.services.matcher, "similar", nothing_similar)
    later = await ask(staff_runtime, "62", "Cho em hỏi thủ tục vay tiền mua bò giống ở đâu")
    assert await cluster_of(staff_runtime, later) == cluster
    [notice] = await told(staff_runtime, "62")
    assert later in notice and FIRST in notice
    relayed = await relay(staff_runtime, WATER)
    assert await cluster_of(staff_runtime, relayed) == cluster
    [notice] = await told(staff_runtime, "chi-hoi")
    assert relayed in notice and FIRST in notice
    assert len(await told(staff_runtime, "61")) == 1


async def test_answer_given_before_the_upgrade_is_not_resent_and_is_corrected(config, clock,
                                                                              tmp_path,
                                                                              staff_config):
    """A database answered by the old code (no revisions yet) keeps "told once" after 0006."""
    import sqlite3

    from bot.runtime import open_runtime
    from storage.db import MIGRATIONS_DIR, _statements

    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for file in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        if file.stem >= "0006":
            break
        for statement in _statements(file.read_text(encoding="utf-8")):
            old.execute(statement)
        old.execute("INSERT INTO schema_migrations VALUES (?, '')", (file.stem,))
    now = "2026-11-20T03:00:00+00:00"
    old.execute("INSERT INTO users (id, channel, external_id, chat_id, consent_at, created_at) "
                "VALUES (1, 'telegram', '71', '71', ?, ?)", (now, now))
    old.execute("INSERT INTO clusters (id, dialogue_id, topic, status, answer, answered_by, "
                "answered_at, created_at) VALUES (1, 'lai-chau-2027', 1, 'da_tra_loi', ?, "
                "'Sở Tài chính', ?, ?)", (FIRST, now, now))
    old.execute("INSERT INTO questions (id, dialogue_id, receipt, user_id, channel, topic, text, "
                "cluster_id, created_at) VALUES (1, 'lai-chau-2027', 'LC27-000001', 1, "
                "'telegram', 1, ?, 1, ?)", (LOAN, now))
    old.execute("INSERT INTO receipt_counters VALUES ('lai-chau-2027', 1)")
    old.execute("INSERT INTO outbox (channel, chat_id, text, purpose, dedupe_key, created_at, "
                "sent_at) VALUES ('telegram', '71', 'old notice', 'answer', 'answer:1:1', ?, ?)",
                (now, now))
    old.close()

    rt = await open_runtime(staff_config, path, clock=clock)
    try:
        s = staff(rt)
        await s.send("/xem 1")
        assert "50 triệu" in s.text
        confirm, saved = await give_answer(s, 1, FIRST, agency="Sở Tài chính")
        assert "Sẽ báo cho 0 người" in confirm and "không thay đổi" in saved
        assert await told(rt, "71") == ["old notice"]
        _, saved = await give_answer(s, 1, SECOND, agency="Sở Tài chính")
        assert "Đang báo cho 1 người" in saved
        assert (await told(rt, "71"))[0] == "old notice"
        _, correction = await told(rt, "71")
        assert "đính chính" in correction.lower() and SECOND in correction
        assert "50 triệu" in correction
    finally:
        await rt.close()


async def test_one_woman_with_two_questions_in_a_cluster_is_told_once(staff_runtime):
    first = await ask(staff_runtime, "81", LOAN)
    target = await cluster_of(staff_runtime, first)
    second = await ask(staff_runtime, "81", WATER, topic="2")
    source = await cluster_of(staff_runtime, second)
    s = staff(staff_runtime)
    await give_answer(s, target, FIRST)
    await s.send(f"/gop {source} {target}")
    assert "0 người" in s.text  # she knows this answer already, through her first question
    assert len(await told(staff_runtime, "81")) == 1
    confirm, saved = await give_answer(s, target, SECOND)
    assert "Sẽ báo cho 1 người" in confirm and "Đang báo cho 1 người" in saved
    _, correction = await told(staff_runtime, "81")
    assert first in correction and second in correction


async def test_a_question_split_off_an_answered_cluster_hears_its_own_answer(staff_runtime):
    kept = await ask(staff_runtime, "91", LOAN)
    cluster = await cluster_of(staff_runtime, kept)
    moved = await ask(staff_runtime, "92", "Xin hỏi hồ sơ vay vốn nuôi bò cần những giấy tờ gì")
    s = staff(staff_runtime)
    await s.send(f"/gop {await cluster_of(staff_runtime, moved)} {cluster}")
    await give_answer(s, cluster, FIRST)
    await s.send(f"/tach {moved}")
    new_cluster = await cluster_of(staff_runtime, moved)
    assert new_cluster != cluster
    _, saved = await give_answer(s, new_cluster, SECOND)
    assert "Đang báo cho 1 người" in saved
    assert len(await told(staff_runtime, "91")) == 1
    _, own = await told(staff_runtime, "92")
    assert moved in own and SECOND in own and "50 triệu" in own


async def test_xem_never_shows_a_danger_disclosure_in_chat_even_with_texts_in_chat(
        staff_runtime):
    # Red-team pass 3: with [privacy] texts_in_chat = true, /xem of her urgent cluster printed
    # her account in the staff chat (Telegram's servers); only the safety role reads it.
    m = Member(staff_runtime, user="61", channel="telegram")
    for line in ("/start", "1", "nam tam", "4"):
        await m.send(line)
    await m.send("Chồng em DANGERWORD đánh em chảy máu tối qua, em sợ lắm")
    async with staff_runtime.db.transaction() as conn:
        (cluster,) = await (await conn.execute("SELECT cluster_id FROM questions")).fetchone()
    s = staff(staff_runtime)
    await s.send(f"/xem {cluster}")
    assert "DANGERWORD" not in s.text and "chảy máu" not in s.text
    assert "cán bộ an toàn" in s.text


async def test_no_staff_command_shows_a_danger_disclosure_in_chat(staff_runtime):
    m = Member(staff_runtime, user="62", channel="telegram")
    for line in ("/start", "1", "nam tam", "4"):
        await m.send(line)
    await m.send("Chồng em DANGERWORD đánh em chảy máu tối qua, em sợ lắm")
    async with staff_runtime.db.transaction() as conn:
        (cluster,) = await (await conn.execute("SELECT cluster_id FROM questions")).fetchone()
    s = staff(staff_runtime)
    for command in ("/cum", "/cum 4", f"/xem {cluster}", "/tonghop", "/khan", "/tim DANGERWORD",
                    "/tim chảy máu", f"/noidung {cluster}", "/homnay"):
        await s.send(command)
        assert "DANGERWORD" not in s.text, (command, s.text)
