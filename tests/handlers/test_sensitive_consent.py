"""Sensitive data (Law 91/2025/QH15): a separate consent before storing, nothing kept when she
declines, danger handled first, and /rut_dong_y erasing those questions down to the raw bytes.

Every test goes through the real member flow (tests.chat.Member) and reads the database itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.digest import send_daily_digest
from handlers.sensitive import SensitiveWords
from storage.clock import stamp
from tests.chat import Member
from tests.conftest import FIXED_NOW, STAFF_GROUP
from tests.fakes.her_words import drain

# Distinctive words, so a search of the raw bytes can only find her text.
HEALTH = "Em bị bệnh tiểu đường ở bản Pá Khôm, xin hỏi tiền thuốc có được bảo hiểm chi trả không"
HEALTH_WORDS = ("Pá Khôm", "tiểu đường")
DANGER = "Chồng em say rượu về đánh em và các con ở bản Nà Cang, em phải làm sao"
DANGER_WORDS = ("Nà Cang",)
LOAN = "Chị em bản Sin Suối Hồ muốn vay vốn ưu đãi chăn nuôi bò sinh sản thì làm thủ tục ở đâu ạ"
LOAN_WORDS = ("Sin Suối Hồ",)


async def rows(runtime, sql: str, params: tuple = ()) -> list:
    async with runtime.db.transaction() as conn:
        return [dict(r) for r in await conn.execute_fetchall(sql, params)]


def found_in_files(runtime, words: tuple[str, ...]) -> list[str]:
    """Which of `words` occur in the raw bytes of the database file or its -wal."""
    db_file = Path(runtime.db.path)
    files = [db_file, db_file.with_name(db_file.name + "-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    return [w for w in words if w.encode() in raw]


async def up_to_send(m: Member, question: str, topic: str = "4") -> None:
    """/start, general consent, commune, topic, the question, anonymous, then Gửi."""
    for line in ("/start", "1", "nam tam", topic, question):
        await m.send(line)
    if "Gửi câu hỏi cho Hội" in " ".join(m.labels()):  # a disclosure: she chooses to go on
        await m.press("Gửi câu hỏi cho Hội")
    if "Ủng hộ" in " ".join(m.labels()):
        await m.press("Câu của tôi khác")
    await m.send("2")  # ẩn danh
    await m.send("1")  # Gửi


async def test_health_question_asks_a_separate_consent_and_records_version_and_time(
        runtime, config):
    m = Member(runtime, user="s1")
    await up_to_send(m, HEALTH)
    assert "sức khỏe" in m.text and "91/2025" in m.text and "/rut_dong_y" in m.text
    assert [o.label for o in m.last.options][:2] == ["✅ Đồng ý", "Không đồng ý"]
    assert await rows(runtime, "SELECT * FROM questions") == []  # not before she says yes
    await m.send("đồng ý")
    assert "Mã tiếp nhận: LC27-000001" in m.text
    [row] = await rows(runtime, "SELECT * FROM questions")
    assert row["text"] == HEALTH and row["sensitive"] == "suc_khoe"
    assert row["sensitive_consent_version"] == config.settings.sensitive_consent_version
    assert row["sensitive_consent_version"] == "2026-12"  # the shipped config's
    assert row["sensitive_consent_at"] == stamp(FIXED_NOW)


@pytest.mark.parametrize("typed", ["dong y", "ok", "có", "dc", "1"])
async def test_typed_yes_is_understood(runtime, typed):
    m = Member(runtime, user="s2")
    await up_to_send(m, HEALTH)
    await m.send(typed)
    assert "LC27-000001" in m.text


async def test_declined_stores_nothing_of_that_text(runtime):
    m = Member(runtime, user="s3")
    await up_to_send(m, HEALTH)
    assert found_in_files(runtime, HEALTH_WORDS)  # her draft sits in the files (test can fail)
    await m.send("khong")
    assert "không lưu câu hỏi này" in m.text and "Hủy" in m.text
    assert "viết câu hỏi" in m.text  # asked to write it again: the question step
    assert await rows(runtime, "SELECT * FROM questions") == []
    [conv] = await rows(runtime, "SELECT data FROM conversations WHERE chat_id = 's3'")
    assert "Pá Khôm" not in conv["data"]
    assert found_in_files(runtime, HEALTH_WORDS) == []  # not in the .db, not in the -wal
    # She writes it again without the health details: stored, no second consent asked.
    await m.send("Xin hỏi bảo hiểm y tế hộ cận nghèo được hỗ trợ bao nhiêu phần trăm ạ")
    assert "Chị xem lại trước khi gửi" in m.text  # back at the confirmation, choices kept
    await m.send("1")
    assert "LC27-000001" in m.text and "91/2025" not in m.text
    [row] = await rows(runtime, "SELECT text, sensitive, anonymous FROM questions")
    assert row["sensitive"] is None and row["anonymous"] == 1 and "Pá Khôm" not in row["text"]
    assert found_in_files(runtime, HEALTH_WORDS) == []


async def test_declined_then_stopped(runtime):
    m = Member(runtime, user="s4")
    await up_to_send(m, HEALTH)
    await m.send("2")
    await m.send("huy")
    assert "Đã dừng" in m.text
    assert await rows(runtime, "SELECT * FROM questions") == []
    assert found_in_files(runtime, HEALTH_WORDS) == []


async def test_a_normal_question_is_not_asked(runtime):
    m = Member(runtime, user="s5")
    await up_to_send(m, LOAN, topic="1")
    assert "LC27-000001" in m.text and "91/2025" not in m.text
    [row] = await rows(runtime, "SELECT sensitive, sensitive_consent_at FROM questions")
    assert row == {"sensitive": None, "sensitive_consent_at": None}


async def test_danger_gets_hotlines_first_and_the_consent_after(staff_runtime):
    m = Member(staff_runtime, user="s6", channel="telegram")
    for line in ("/start", "1", "nam tam", "4"):
        await m.send(line)
    await m.send(DANGER)
    assert "113" in m.text and "1900 969 680" in m.text  # hotlines at once
    assert "91/2025" not in m.text  # no consent question in her way
    alerts = await rows(staff_runtime, "SELECT chat_id FROM outbox WHERE purpose = 'danger'")
    assert alerts == [{"chat_id": STAFF_GROUP}]  # staff alerted before any consent
    await m.press("Gửi câu hỏi cho Hội")  # the calm choice after a disclosure: go on
    await m.send("2")
    await m.send("1")  # Gửi
    assert "bạo lực" in m.text and "91/2025" in m.text
    await m.press("Đồng ý")
    assert "LC27-000001" in m.text
    [row] = await rows(staff_runtime, "SELECT * FROM questions")
    assert row["urgent"] == 1 and "bao_luc" in row["sensitive"].split(",")
    assert row["sensitive_consent_at"] == stamp(FIXED_NOW)


async def test_declining_after_danger_erases_her_words_and_says_the_alert_stays(staff_runtime):
    m = Member(staff_runtime, user="s7", channel="telegram")
    for line in ("/start", "1", "nam tam", "4", DANGER, "1", "2", "1"):  # "1": go on
        await m.send(line)
    await m.press("Không đồng ý")
    assert "không lưu lời chị viết" in m.text and "đã được chuyển cho cán bộ" in m.text
    [row] = await rows(staff_runtime, "SELECT text, urgent, deleted_at FROM questions")
    # The case stays for staff to reach her (/nhan LC27-000001), without her words.
    assert row == {"text": "", "urgent": 1, "deleted_at": None}
    [alert] = await rows(staff_runtime, "SELECT text FROM outbox WHERE purpose = 'danger'")
    assert "Nà Cang" in alert["text"]  # what she was told: the alert is with staff
    await m.send("/cua_toi")  # the case, and why it has no words: not an empty '""'
    assert "LC27-000001" in m.text and '""' not in m.text and "đã được xóa" in m.text


async def test_withdrawal_erases_the_sensitive_texts_everywhere_and_keeps_the_others(
        staff_runtime):
    runtime = staff_runtime
    m = Member(runtime, user="s8", channel="telegram")
    await up_to_send(m, HEALTH)
    await m.press("Đồng ý")
    await up_to_send(m, DANGER)
    await m.press("Đồng ý")
    await up_to_send(m, LOAN, topic="1")
    assert "LC27-000003" in m.text
    await send_daily_digest(runtime.db, runtime.services.settings, runtime.services.locale,
                            runtime.db.clock())
    await drain(runtime)  # the digest and the danger alert are sent, copies in the outbox
    assert found_in_files(runtime, HEALTH_WORDS + DANGER_WORDS + LOAN_WORDS) == list(
        HEALTH_WORDS + DANGER_WORDS + LOAN_WORDS)

    await m.send("/rut_dong_y")
    assert "LC27-000001" in m.text and "LC27-000002" in m.text and "LC27-000003" not in m.text
    await m.press("Rút đồng ý")
    assert "Đã rút đồng ý" in m.text and "2 câu hỏi" in m.text
    assert "LC27-000001, LC27-000002" in m.text and "tin báo khẩn" in m.text
    assert found_in_files(runtime, HEALTH_WORDS + DANGER_WORDS) == []  # .db and -wal
    assert found_in_files(runtime, LOAN_WORDS) == list(LOAN_WORDS)  # her other question stays
    texts = {r["receipt"]: r for r in await rows(
        runtime, "SELECT receipt, text, sensitive_withdrawn_at FROM questions")}
    assert texts["LC27-000003"]["text"] == LOAN
    assert texts["LC27-000001"]["sensitive_withdrawn_at"] == stamp(FIXED_NOW)
    await m.send("/cua_toi")
    assert "LC27-000003" in m.text and "LC27-000001" not in m.text
    await m.send("/rut_dong_y")
    assert "không có gì cần xóa" in m.text


async def test_withdrawal_can_be_called_off(runtime):
    m = Member(runtime, user="s9")
    await up_to_send(m, HEALTH)
    await m.press("Đồng ý")
    await m.send("/rut_dong_y")
    await m.press("Không, giữ lại")
    assert "giữ nguyên" in m.text
    [row] = await rows(runtime, "SELECT text FROM questions")
    assert row["text"] == HEALTH


async def test_help_names_the_withdrawal(runtime):
    m = Member(runtime, user="s10")
    await m.send("/help")
    assert "/rut_dong_y" in m.text


async def test_a_general_question_on_prenatal_care_or_an_ethnic_group_is_not_asked(runtime):
    m = Member(runtime, user="s12")
    await up_to_send(m, "Khám thai định kỳ cho phụ nữ người Mông ở vùng cao có được bảo hiểm "
                        "y tế chi trả không ạ?")
    assert "LC27-000001" in m.text and "91/2025" not in m.text
    [row] = await rows(runtime, "SELECT sensitive FROM questions")
    assert row["sensitive"] is None


async def test_the_same_words_about_her_are_asked(runtime):
    m = Member(runtime, user="s13")
    await up_to_send(m, "Em là người Mông, đang mang thai tháng thứ 5, khám thai định kỳ có "
                        "được miễn phí không ạ?")
    assert "sức khỏe" in m.text and "dân tộc" in m.text and "91/2025" in m.text


async def test_no_diacritics_and_teencode_ask_too(runtime):
    m = Member(runtime, user="s11")
    await up_to_send(m, "ck e ngoai tinh, e mun ly hon thi lam thu tuc o dau", "7")
    assert "đời tư" in m.text and "91/2025" in m.text


@pytest.mark.parametrize(("text", "kind"), [
    ("em bi benh tieu duong lau nam, tien thuoc dat qua", "suc_khoe"),
    ("e dang co bau 5 thang ma bi om nang", "suc_khoe"),
    ("con em bi tu ky, ko di hoc dc", None),  # "tu ky" bare is also "tự ký": not listed
    ("Con em bị tự kỷ, không đi học được", "suc_khoe"),
    ("ban e co nguoi bi HIV, xin hoi thuoc ARV o dau", "suc_khoe"),
    ("chi em bi tram cam sau sinh", "suc_khoe"),
    ("em la nguoi hmong o ban Sin Suoi Ho", "dan_toc"),
    ("Em là người Mông, muốn học nghề may", "dan_toc"),
    ("em la dan toc dao, muon vay von", "dan_toc"),
    ("ck e ngoai tinh, e muon ly hon", "doi_tu"),
    ("gia dinh em no nan nhieu qua, bi siet no", "doi_tu"),
    ("chuyen vo chong em khong hop", "doi_tu"),
    # Policy questions and everyday words that must not ask.
    ("cho em hoi ho tro hoc nghe cho phu nu dan toc thieu so", None),
    ("xin hoi vay von chan nuoi cap bo sinh san", None),
    ("mọi người mong tỉnh hỗ trợ đường giao thông", None),
    ("chị em thuộc hộ nghèo có được hỗ trợ không", None),
    ("cách dùng thuốc trừ sâu an toàn", None),
    ("rác thải ở bản nhiều quá", None),
    ("người kinh doanh nhỏ có được vay vốn không", None),
    # A question on the topic in general holds no data about her (issue 18).
    ("Khám thai định kỳ cho phụ nữ vùng cao có được bảo hiểm y tế chi trả không?", None),
    ("Cho em hỏi khám thai định kỳ có mất tiền không ạ", None),
    ("cho e hoi kham thai dinh ky co mien phi ko", None),
    ("Xin hỏi xã có tổ chức khám thai định kỳ miễn phí không", None),
    ("Chị em phụ nữ mang thai có được khám thai định kỳ miễn phí không", None),
    ("Tỉnh có chính sách gì hỗ trợ phụ nữ người Mông học nghề?", None),
    ("Phụ nữ người Mông ở bản em ít được đi học", None),
    ("Em muốn hỏi về chính sách cho người khuyết tật", None),
    ("Trẻ em khuyết tật ở xã tôi có được học miễn phí không", None),
    # ... and the same words about her or hers do.
    ("Em đang mang thai tháng thứ 5, khám thai định kỳ có được miễn phí không", "suc_khoe"),
    ("mình mang bầu lần đầu, khám thai ở đâu", "suc_khoe"),
    ("con em bị khuyết tật bẩm sinh", "suc_khoe"),
    ("bác sĩ cho em uống thuốc ARV đã 2 năm", "suc_khoe"),
    ("tôi người Mông, không biết chữ nhiều", "dan_toc"),
    ("Phụ nữ người Mông. Em là người Mông, chồng bỏ đi", "dan_toc"),
    ("Em năm nay 30 tuổi. Bị tiểu đường 5 năm rồi, tiền thuốc đắt quá", "suc_khoe"),
    ("đang mang bầu tháng thứ 7 mà trạm y tế không khám thai", "suc_khoe"),
])
def test_the_words_find_each_kind(text, kind):
    words = SensitiveWords.from_file()
    assert words.kinds(text) == (frozenset({kind}) if kind else frozenset())


async def test_a_leaders_relay_is_not_asked(staff_runtime):
    leader = Member(staff_runtime, user="chi-hoi")  # configured in [[leaders]]
    await leader.send("/chi_hoi")
    await leader.send("1")
    for line in ("4", "Nhiều chị em trong chi hội bị bệnh phụ khoa, xin khám miễn phí", "30"):
        await leader.send(line)
    await leader.press("Bỏ qua")
    assert "Đã ghi nhận" in leader.text and "91/2025" not in leader.text
    [row] = await rows(staff_runtime, "SELECT kind, sensitive FROM questions")
    assert row == {"kind": "relay", "sensitive": None}
