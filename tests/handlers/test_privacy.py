"""PII masking, and the hostile-input corpus that every part of the bot is tested against."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from handlers.privacy import mask_for_member, mask_pii
from handlers.text import clean

DATA = Path(__file__).resolve().parents[1] / "data"
BAD_INPUT = [
    json.loads(line)
    for line in (DATA / "bad_input.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
KINDS = {"text", "action", "sticker", "photo", "voice", "document", "other"}
FIELDS = {"name", "kind", "text", "text_repeat", "action", "group", "edit", "repeat", "note"}


def _bad_text(case: dict) -> str:
    repeat = case.get("text_repeat")
    return repeat["unit"] * repeat["times"] if repeat else case.get("text", "")


def _digit_runs(text: str) -> list[str]:
    return re.findall(r"\d{4,}", text)


# --- phones -----------------------------------------------------------------------------------

PHONES = [
    "0912345678",
    "0912 345 678",
    "0912.345.678",
    "0912-345-678",
    "091 234 5678",
    "09 12 34 56 78",
    "+84 912 345 678",
    "+84912345678",
    "(+84) 912 345 678",
    "84912345678",
    "0 9 1 2 3 4 5 6 7 8",
    "024 3826 1234",  # landline with area code
    "02133876543",
    "0912/345/678",  # red-team pass 2: shown as typed on department pages and in exports
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_masked_with_a_hint(phone: str) -> None:
    masked = mask_pii(f"Chị gọi em số {phone} nhé, em ở xã Nậm Tăm")
    digits = re.sub(r"\D", "", phone)
    assert masked == f"Chị gọi em số [SĐT ẩn …{digits[-3:]}] nhé, em ở xã Nậm Tăm"


def test_phone_glued_to_words_and_followed_by_an_age() -> None:
    assert mask_pii("sdt0912345678, con 15 tuổi") == "sdt[SĐT ẩn …678], con 15 tuổi"
    assert mask_pii("0912 345 678 15 tuổi") == "[SĐT ẩn …678] 15 tuổi"
    assert mask_pii("zalo: 912 345 678") == "zalo: [SĐT ẩn …678]"


# --- ID cards, accounts, emails ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CCCD 001234567890", "CCCD [CCCD ẩn …890]"),
        ("căn cước 0012 3456 7890", "căn cước [CCCD ẩn …890]"),
        ("số CCCD: 001 234 567 890", "số CCCD: [CCCD ẩn …890]"),
        ("cmnd 123456789", "cmnd [CMND ẩn …789]"),
        ("CMND số 012 345 678", "CMND số [CMND ẩn …678]"),
        ("em có số 123456789 mà quên", "em có số [CMND ẩn …789] mà quên"),
        ("stk 1903 4567 8901 techcombank", "stk [STK ẩn …901] techcombank"),
        ("mã 12345678901234", "mã [số ẩn …234]"),
    ],
)
def test_id_and_account_numbers_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email lan.nguyen@gmail.com ạ", "email [email ẩn l…@gmail.com] ạ"),
        ("gửi vào hoa_ban+1@yahoo.com.vn", "gửi vào [email ẩn h…@yahoo.com.vn]"),
        ("thư: Mai.Thi-88@hoilhpn.laichau.gov.vn.", "thư: [email ẩn M…@hoilhpn.laichau.gov.vn]."),
    ],
)
def test_emails_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


# --- ordinary numbers stay ---------------------------------------------------------------------

ORDINARY = [
    "Năm 2026 em muốn vay 50 triệu",
    "Con em 15 tuổi, thôn có 200 hộ",
    "Vay 500.000.000 đồng có được không",
    "Giá 1.500.000.000đ",
    "Nợ 250000001 đồng",
    "Số tiền 200000000",
    "Số tiền 500 000 000",
    "Hạn trả lời 25/7/2026, đối thoại 15.11.2026",
    "từ 05/07/2027 đến 01/12/2027",  # dates with slashes are not phones
    "Kế hoạch 2023-2024-2025",
    "Gọi 111, 113 hoặc 1900 969 680",
    "Quyết định số 51/2025/QĐ-TTg",
    "Xã có 1 2 3 4 5 6 7 8 9 10 thôn",
    "diện tích 0,5 ha, 12.000 m2",
    "",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert mask_pii(text) == text


def test_no_long_digit_run_survives_and_masking_twice_changes_nothing() -> None:
    text = " ; ".join([*PHONES, "CCCD 001234567890", "cmnd 123456789", "a@b.vn"])
    once = mask_pii(text)
    assert _digit_runs(once) == []
    assert "@b.vn" in once and "a@b.vn" not in once
    assert mask_pii(once) == once


# --- the hostile-input corpus -----------------------------------------------------------------


def test_bad_input_corpus_is_complete_and_well_formed() -> None:
    assert len(BAD_INPUT) >= 45
    names = [c["name"] for c in BAD_INPUT]
    assert len(names) == len(set(names)), "duplicate names"
    for case in BAD_INPUT:
        assert set(case) <= FIELDS, case
        assert case["kind"] in KINDS, case
        assert re.fullmatch(r"[a-z0-9_]+", case["name"]), case
        assert case["note"].strip(), case
        assert not ("text" in case and "text_repeat" in case), case
        if case["kind"] == "action":
            assert isinstance(case.get("action"), str), case
        for flag in ("group", "edit"):
            assert isinstance(case.get(flag, False), bool), case
        assert isinstance(case.get("repeat", 1), int) and case.get("repeat", 1) >= 1, case
    texts = [_bad_text(c) for c in BAD_INPUT]
    assert {c["kind"] for c in BAD_INPUT} == KINDS
    assert "" in texts and any(t and not t.strip() for t in texts)
    assert {5_000, 100_000} <= {len(t) for t in texts}
    assert any("\u0000" in t for t in texts) and any("\u202e" in t for t in texts)
    assert any(len(c.get("action", "").encode()) > 64 for c in BAD_INPUT)
    assert any(c.get("group") for c in BAD_INPUT) and any(c.get("edit") for c in BAD_INPUT)
    assert any(c.get("repeat", 1) >= 50 for c in BAD_INPUT)
    assert "/start@otherbot" in texts


_FORBIDDEN = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    r"\u2066-\u2069\ufeff]"
)


def test_clean_removes_every_format_character_unicode_knows() -> None:
    # Category Cf as this Python's Unicode tables have it: a newer table is checked too.
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) == "Cf":
            assert clean(f"09{char}12") == "0912", hex(code)


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c["name"] for c in BAD_INPUT])
def test_clean_removes_invisible_and_control_chars(case: dict) -> None:
    cleaned = clean(_bad_text(case))
    assert not _FORBIDDEN.search(cleaned), repr(cleaned[:80])
    assert cleaned == unicodedata.normalize("NFC", cleaned)
    assert cleaned == cleaned.strip()


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c["name"] for c in BAD_INPUT])
def test_mask_pii_never_raises_and_keeps_text_without_numbers(case: dict) -> None:
    for text in (_bad_text(case), case.get("action", "")):
        masked = mask_pii(text)
        assert isinstance(masked, str)
        assert mask_pii(masked) == masked
        if not re.search(r"\d{9}|@", re.sub(r"[ .\-()+]", "", text)):
            assert masked == text


# --- names (what another member may read of a question: tests/handlers/test_offer_privacy.py) ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Em tên Hoa, số đt 0912 345 678", "Em tên [tên ẩn], số đt [SĐT ẩn …678]"),
        ("tên em là Lò Thị Hoa ở bản Nậm Tăm", "tên em là [tên ẩn] ở bản Nậm Tăm"),
        ("tên em là nguyễn thị hoa ở bản", "tên em là [tên ẩn] ở bản"),
        ("Tôi là Giàng Thị Mỷ, +84 912 345 678", "Tôi là [tên ẩn], [SĐT ẩn …678]"),
        ("Họ tên: Lò Thị Mai. CCCD 001234567890", "Họ tên: [tên ẩn]. CCCD [CCCD ẩn …890]"),
        ("ten e la Hoa, mail hoa.lo@gmail.com", "ten e la [tên ẩn], mail [email ẩn h…@gmail.com]"),
        ("em là hội viên chi hội bản Nà Sài", "em là hội viên chi hội bản Nà Sài"),
        ("chồng em tên tuấn hay đánh em", "chồng em tên [tên ẩn] hay đánh em"),
        ("Đề nghị đặt tên đường cho bản", "Đề nghị đặt tên đường cho bản"),
        ("Tên: Lò Thị Hoa, SĐT: 0912.345.678", "Tên: [tên ẩn], SĐT: [SĐT ẩn …678]"),
        ("tui ten hoa o ban Pa U", "tui ten [tên ẩn] o ban Pa U"),
    ],
)
def test_names_after_a_cue_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected
    assert mask_pii(expected) == expected  # masking twice changes nothing


# --- names the red team got through (notes/redteam.md, promise 1) ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("em là lò thị mến, hỏi về bảo hiểm xã hội", "em là [tên ẩn], hỏi về bảo hiểm xã hội"),
        ("em ten la nguyen thi hoa, em muon hoc", "em ten la [tên ẩn], em muon hoc"),
        ("em ten la lo thi pham, sdt", "em ten la [tên ẩn], sdt"),
        ("Tôi Hà Thị Lan, hỏi về tỷ lệ nữ cán bộ", "Tôi [tên ẩn], hỏi về tỷ lệ nữ cán bộ"),
        ("Tôi, Vàng Thị Mỷ, hỏi về thẻ bảo hiểm y tế", "Tôi, [tên ẩn], hỏi về thẻ bảo hiểm y tế"),
        ("Em tên Lò Thị Bốn, kiến nghị sửa cầu treo", "Em tên [tên ẩn], kiến nghị sửa cầu treo"),
        ("chồng mình là anh Vàng A Sử hay uống rượu", "chồng mình là anh [tên ẩn] hay uống rượu"),
        ("mẹ của cháu Sùng A Páo xin hỏi", "mẹ của cháu [tên ẩn] xin hỏi"),
        ("Người hỏi: Lò Thị Mai", "Người hỏi: [tên ẩn]"),
        # Red-team pass 2: signed at the end, a given name that folds like a common word.
        ("giấy tờ gì ạ, em cảm ơn - Hoàng Thị Nụ", "giấy tờ gì ạ, em cảm ơn - [tên ẩn]"),
        ("em Tòng Thị Xuân bản Nà Cang hỏi", "em [tên ẩn] bản Nà Cang hỏi"),
        ("Chồng em tên Lò Văn Sáng hay đánh", "Chồng em tên [tên ẩn] hay đánh"),
        ("EM TÊN LÒ THỊ MẾN", "EM TÊN [tên ẩn]"),
        ("bà Hoa ở bản Nà Sài nhờ hỏi", "bà [tên ẩn] ở bản Nà Sài nhờ hỏi"),
        ("Nguyễn Thị Thu Hà xin hỏi", "[tên ẩn] xin hỏi"),
        ("nguyen thi hoa xin hoi ve vay von", "[tên ẩn] xin hoi ve vay von"),
        ("bố nó gả con bé cho nhà ông Páo", "bố nó gả con bé cho nhà ông [tên ẩn]"),
    ],
)
def test_whole_names_are_masked_no_syllable_left(text: str, expected: str) -> None:
    assert mask_pii(text) == expected
    assert mask_for_member(text) == expected
    assert mask_pii(expected) == expected


@pytest.mark.parametrize(
    "text",
    [
        "chị em phụ nữ Hội LHPN xã ở thị trấn Tuần Giáo",
        "lo van de nâng cao văn hóa, văn bản tiếng Kinh, chị em Mông nghe không hiểu",
        "vo thi nau com, chong danh vo thi xu ly the nao",
        "so do nha toi chi dung ten chong, toi muon them ten minh vao thi can bo bao phien",
        "Em Muốn Hỏi Về Thủ Tục Vay Vốn Ngân Hàng Chính Sách",
        "ko co so do thi vay von the chap kieu gi",
        "toi muon hoi theo quy dinh thi hanh vi danh vo bi phat bao nhieu tien",
        "muon dong bhxh tu nguyen thi dk o dau a, vi pham thi phat, dang thi cong duong",
        "em gái tôi đang bị chồng Hàn đánh; chị em đi lấy chồng Hàn Quốc qua môi giới",
    ],
)
def test_ordinary_words_are_not_taken_for_names(text: str) -> None:
    assert mask_pii(text) == text


def test_question_corpus_is_left_alone() -> None:
    """The 1978 questions in tests/data hold no personal names: none may change (6 did, all
    false masks like "tên mình [tên ẩn] sau này")."""
    changed = [t for t in _corpus_texts() if mask_pii(t) != t]
    assert changed == []


def _corpus_texts() -> list[str]:
    out = []
    for path in sorted(DATA.glob("cluster_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["text"])
    assert len(out) > 1000
    return out


def test_another_member_sees_no_digit_or_domain() -> None:
    text = ("Tôi Hà Thị Lan, CCCD 012345678901, email lan.ha.test@gmail.com, sdt 0912.345.679, "
            "email em xuyen@nguyenthixuyen.vn")
    assert mask_for_member(text) == (
        "Tôi [tên ẩn], CCCD [CCCD ẩn], email [email ẩn], sdt [SĐT ẩn], email em [email ẩn]")
    assert "…901" in mask_pii(text)  # staff keep the hint to confirm it with her


@pytest.mark.parametrize(
    ("text", "staff", "member"),
    [
        ("hộ chiếu C1234613 bị giữ", "hộ chiếu [Hộ chiếu ẩn …613] bị giữ",
         "hộ chiếu [Hộ chiếu ẩn] bị giữ"),
        ("số em không chín một hai ba bốn năm sáu bảy tám nhé", "số em [số ẩn …678] nhé",
         "số em [số ẩn] nhé"),
        ("so e khong chin mot hai, ba bon nam sau bay tam", "so e [số ẩn …678]", "so e [số ẩn]"),
    ],
)
def test_passports_and_spelled_out_numbers_are_masked(text: str, staff: str,
                                                      member: str) -> None:
    assert mask_pii(text) == staff
    assert mask_for_member(text) == member
    assert mask_pii(staff) == staff


@pytest.mark.parametrize("display_name", ["Lò Thị", "Lò", "Bốn", "Thị Bốn", "Lò Bốn", "Lò Thị Bốn"])
def test_her_display_name_and_the_cue_mask_one_whole_name(display_name: str) -> None:
    """Red team over Telegram: "Em tên [tên ẩn] Bốn". Her display name was masked first and
    the "tên" cue then saw a mask, not a name; part of her name was left beside it."""
    text = "Em tên Lò Thị Bốn, số 0912345704, kiến nghị sửa cầu treo"
    expected = "Em tên [tên ẩn], số [SĐT ẩn], kiến nghị sửa cầu treo"
    assert mask_for_member(text, display_name) == expected


# --- red-team pass 3: numbers in words and digits, spelled emails, her house, bare names ---


@pytest.mark.parametrize(
    ("text", "staff", "member"),
    [
        ("số em không chín một hai 345 678 nhé", "số em [SĐT ẩn …678] nhé", "số em [SĐT ẩn] nhé"),
        ("gọi 0912 ba bốn năm sáu bảy tám", "gọi [SĐT ẩn …678]", "gọi [SĐT ẩn]"),
        ("sđt 0 9 1 2 . 3 4 5 . 6 7 8 ạ", "sđt [SĐT ẩn …678] ạ", "sđt [SĐT ẩn] ạ"),
        ("sdt: o912345678", "sdt: [SĐT ẩn …678]", "sdt: [SĐT ẩn]"),
        ("ba 0912345678 năm nay", "ba [SĐT ẩn …678] năm nay", "ba [SĐT ẩn] năm nay"),
        ("cccd 0 0 1 2 3 4 5 6 7 8 9 0", "cccd [CCCD ẩn …890]", "cccd [CCCD ẩn]"),
        ("mail hoalo a còng gmail chấm com nhé", "mail [email ẩn h…@gmail.com] nhé",
         "mail [email ẩn] nhé"),
        ("mail hoalo at gmail dot com", "mail [email ẩn h…@gmail.com]", "mail [email ẩn]"),
        ("mail hoalo@gmail .com", "mail [email ẩn h…@gmail.com]", "mail [email ẩn]"),
        ("mail hoa.lo @ yahoo . com . vn", "mail [email ẩn h…@yahoo.com.vn]", "mail [email ẩn]"),
        ("nhà em ở số 12 ngõ 5 đường Trần Phú, em hỏi", "nhà em ở [địa chỉ ẩn], em hỏi",
         "nhà em ở [địa chỉ ẩn], em hỏi"),
        ("số nhà 45 phố Hàng Bạc", "[địa chỉ ẩn]", "[địa chỉ ẩn]"),
        ("nhà thứ 3 cạnh trường bản Nà Tăm, em muốn hỏi", "[địa chỉ ẩn], em muốn hỏi",
         "[địa chỉ ẩn], em muốn hỏi"),
        ("nhà em đối diện UBND xã Nậm Tăm", "[địa chỉ ẩn]", "[địa chỉ ẩn]"),
        ("lo thi hoa xin hoi vay von", "[tên ẩn] xin hoi vay von", "[tên ẩn] xin hoi vay von"),
        ("Tôi Lò Hoa ở bản Nà Tăm", "Tôi [tên ẩn] ở bản Nà Tăm", "Tôi [tên ẩn] ở bản Nà Tăm"),
        ("Giàng Mỷ hỏi về vay vốn", "[tên ẩn] hỏi về vay vốn", "[tên ẩn] hỏi về vay vốn"),
    ],
)
def test_details_written_the_way_women_type_them_are_masked(text: str, staff: str,
                                                            member: str) -> None:
    assert mask_pii(text) == staff
    assert mask_for_member(text) == member
    assert mask_pii(staff) == staff and mask_for_member(member) == member


@pytest.mark.parametrize(
    "text",
    [
        "năm nay em ba mươi tuổi, sinh năm 1990, có hai con 5 tuổi và 3 tuổi",
        "từ năm 2020 đến năm 2025 có 2 3 lần, ba năm 2023 2024 2025",
        "Ngày 5 tháng 7 năm 2025 họp, từ 05.07 - 01.12.2027",
        "tổ 5 thôn 3 bản Nà Tăm, Đường 279 qua bản bị sạt, Quốc lộ 4D km 12",
        "Nghị định số 100 đường bộ, Quyết định số 12 đường lối",
        "Hỗ trợ xây nhà ở gần trường cho học sinh bán trú, nhà em cạnh suối",
        "Sở Y tế, Hội Nông dân, Ngân hàng Chính sách xã hội cho vay 50 triệu",
        "mùa lũ thì dừng học, lo thi lo, đi Hà Lan, Thái Lan, đường Lê Lợi",
        "em ở Thái Hòa, Quảng Hà, Hoàng Mai, Lương Tâm, Lộc Hà hỏi",
        "Em gọi 111 không ai nghe, điểm thi 9 8 7 6 5, xã có không chín một thôn",
        "Nhà em thu 5 triệu một năm từ chè, nhà thu mua nông sản",
    ],
)
def test_ordinary_words_and_numbers_stay_after_the_new_rules(text: str) -> None:
    assert mask_pii(text) == text
    assert mask_for_member(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    # Red-team pass 5, F3: a phone split over a line break, or written with commas
    ("gọi em 0912,345,678 nhé", "gọi em [SĐT ẩn …678] nhé"),
    ("số em 0912\n345 678", "số em [SĐT ẩn …678]"),
    ("gọi em 0912, 345, 678", "gọi em [SĐT ẩn …678]"),
    # numbers that are not phones stay
    ("vay 1,5 triệu, 2 con, 3 tuổi", "vay 1,5 triệu, 2 con, 3 tuổi"),
    ("năm 2025, 2026 và 2027", "năm 2025, 2026 và 2027"),
    ("100,000,000 đồng", "100,000,000 đồng"),
])
def test_phones_split_by_commas_or_lines_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected
