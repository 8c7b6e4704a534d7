"""Personal danger apart from a policy question: the labelled sets, the brief's hard cases.

danger_dev.jsonl was written by a helper who never read the keyword file; its held-out third
(bench/danger_quality.py `held_out`) is measured in the bench, not asserted here, so that no
test pushes anyone to tune on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.danger_quality import held_out
from handlers.safety import (
    DANGER,
    MAYBE,
    DangerDetector,
    DangerKeywords,
    default_detector,
)
from tests.conftest import ROOT

DATA = Path(__file__).resolve().parents[1] / "data"


def _rows(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


DEV = [r for r in _rows("danger_dev.jsonl") if not held_out(r["id"])]


def test_the_dev_set_is_big_and_well_formed() -> None:
    rows = _rows("danger_dev.jsonl")
    assert sum(r["label"] == "danger" for r in rows) >= 150
    assert sum(r["label"] == "policy" for r in rows) >= 100
    assert {r["label"] for r in rows} == {"danger", "policy"}
    assert len({r["id"] for r in rows}) == len(rows)
    assert {"teencode", "no_diacritics", "long_story"} <= {r["style"] for r in rows}


@pytest.mark.parametrize("name", ["dev", "danger_probe.jsonl", "danger_probe2.jsonl",
                                  "danger_blind1.jsonl", "danger_blind3.jsonl",
                                  "danger_blind4.jsonl", "danger_blind5.jsonl"])
def test_recall_and_false_alarms_on_the_labelled_sets(name: str) -> None:
    rows = DEV if name == "dev" else _rows(name)
    if name == "danger_blind1.jsonl":  # its checking third is measured in the bench only
        rows = [r for r in rows if not held_out(r["id"], "blind1")]
    if name == "danger_blind4.jsonl":  # likewise: blind4_check is measured once, in the bench
        rows = [r for r in rows if not held_out(r["id"], "blind4")]
    if name == "danger_blind5.jsonl":  # likewise: blind5_check is measured once, in the bench
        rows = [r for r in rows if not held_out(r["id"], "blind5")]
    detect = default_detector()
    danger = [r for r in rows if r["label"] == "danger"]
    policy = [r for r in rows if r["label"] == "policy"]
    missed = [r["text"] for r in danger if detect(r["text"]) is None]
    alarmed = [r["text"] for r in policy if detect(r["text"]) is not None]
    assert len(missed) <= 0.03 * len(danger), missed
    assert len(alarmed) <= 0.15 * len(policy), alarmed


@pytest.mark.parametrize("text", [
    "ck e hay dh e",
    "e bi ck danh",
    "bo con be so mo no",
    "ck e say ruou ve la dap e, e so lam",
    "e bj ck oanh tim mat r",
])
def test_heavy_teencode_escalates(text: str) -> None:
    found = default_detector()(text)
    assert found is not None and found.level == DANGER, (text, found)


# Indirect accounts of each kind the issue names, in words of this test (not the dev set's).
INDIRECT = [
    "Cháu gái em mới 14 tuổi, ba hôm nữa nhà trai sang rước dâu rồi, cháu khóc suốt",
    "Có người hứa cho con em đi làm nhà hàng lương cao, giờ họ giữ căn cước của nó, không cho về",
    "Từ hôm ông ấy ở nhà trông con bé, nó cứ kêu đau chỗ kín và không dám ngủ một mình",
    "Thằng bé nhà bên bị bố trói vào cột rồi lấy roi quất, người đầy vết",
    "Đêm qua em bế con chạy khỏi nhà, giờ không biết ngủ đâu, hội có chỗ nào cho mẹ con em ở tạm",
    "Em gái tôi đang bị giữ ở một nhà bên kia biên giới, gọi về khóc, xin hội giúp với",
]


@pytest.mark.parametrize("text", INDIRECT)
def test_indirect_accounts_escalate(text: str) -> None:
    found = default_detector()(text)
    assert found is not None and found.level == DANGER, (text, found)


@pytest.mark.parametrize("text", [
    "nó thu hết giấy tờ của em rồi không cho về",  # her papers taken: still danger
    "no thu het giay to cua e r k cho ve",
])
def test_papers_taken_are_still_danger(text: str) -> None:
    found = default_detector()(text)
    assert found is not None and found.level == DANGER, (text, found)


@pytest.mark.parametrize("text", [
    "Đề nghị tỉnh có giải pháp chống tảo hôn ở vùng đồng bào",
    "Xin hỏi mức phạt đối với việc tổ chức tảo hôn hiện nay",
    "Tỉnh có chính sách gì hỗ trợ nạn nhân mua bán người trở về?",
    "Đề nghị tăng cường tuyên truyền phòng chống bạo lực gia đình ở thôn bản",
    "Tình trạng tảo hôn ở địa phương em vẫn còn, mong tỉnh quan tâm",
    "Xin cho biết số vụ xâm hại trẻ em trên địa bàn tỉnh năm nay",
])
def test_policy_questions_raise_nothing(text: str) -> None:
    assert default_detector()(text) is None


@pytest.mark.parametrize("text", [
    "Trạm y tế xã bao giờ có bác sĩ sản khoa khám thai định kỳ?",
    "mưa lớn đất đồi sau nhà nứt toác, em sợ lắm, xin được chuyển chỗ ở",
    "Nhà em là hộ nghèo, nhà dột nát, có được hỗ trợ làm nhà không?",
    "em muốn mở quán bán hàng ăn, hội có hỗ trợ khởi nghiệp không ạ",
    "Chồng em mất 2 năm, em nuôi 3 con nhỏ, các con ốm liên miên, xin hỗ trợ làm nhà",
    "Bản em chưa có sóng điện thoại, có việc gấp không gọi được.",
    "ban e chua co dien, bao gio moi co a",
    # "thủ tục … giấy tờ" read as someone taking her papers (red-team pass 4, F7)
    "Thủ tục vay vốn cần giấy tờ gì, bao lâu thì được giải ngân, lãi suất bao nhiêu",
    "thu tuc vay von can giay to gi, lai suat bao nhieu",
    "Thủ tục làm lại giấy tờ nhà đất sau khi sáp nhập xã thế nào ạ",
])
def test_ordinary_questions_raise_nothing(text: str) -> None:
    assert default_detector()(text) is None


@pytest.mark.parametrize("text", [
    "ck e ngoai tinh bo nha di",  # he left: private life, not her flight (issue 18)
    "Chồng em theo gái bỏ nhà đi 2 năm nay",
    "Trạm y tế xã không có bác sĩ sản khoa, chị em phải lên huyện khám thai",
    "Cho mình hỏi chị em bị bạo lực gia đình đi khám thì bảo hiểm y tế có chi trả không",
    "Tổ trưởng thu tiền lãi của chị em mấy tháng nhưng không nộp ngân hàng",
])
def test_private_life_and_questions_about_women_in_general_do_not_escalate(text: str) -> None:
    found = default_detector()(text)
    assert found is None or found.level == MAYBE, (text, found)
    assert default_detector()("ck e ngoai tinh bo nha di") is None


@pytest.mark.parametrize("text", [
    "chị ơi cứu",  # a cry with no story: asked gently, never silence
    "Ông ấy nói nếu em bỏ đi thì cả nhà em ở quê không yên đâu.",
    "ck say. e với con ngồi ngoài bờ ao",
    "Chị ơi nếu mai em không nhắn nữa thì chị nhờ người trông hộ hai đứa nhỏ nhé.",
    "Ông ấy lại đem con đi giấu, bảo nếu em ko rút đơn thì ko bao giờ đc thấy con",
    "Bọn cho vay lấy sổ hộ khẩu và căn cước của mẹ con em, đòi con gái em đi làm để trừ nợ",
    "Em mới 17 tuổi, bố mẹ ép em lấy một người em không quen để trả nợ",
    "chong e di lam ve la kiem chuyen, xo e nga vao tuong",
])
def test_threats_farewells_and_flight_told_without_keywords_get_the_hotlines(text: str) -> None:
    assert default_detector()(text) is not None, text


def test_unsure_gets_the_gentle_question_not_silence() -> None:
    found = default_detector()("Em muốn hỏi khi bị bạo lực gia đình thì báo ai")
    assert found is not None and found.level == MAYBE


def test_her_own_story_inside_a_policy_question_escalates() -> None:
    found = default_detector()("Đề nghị tỉnh hỗ trợ giống ngô. Đêm qua em lại bị chồng đánh, "
                               "mặt còn sưng.")
    assert found is not None and found.level == DANGER


def test_staff_can_edit_the_context_file(tmp_path: Path) -> None:
    context = tmp_path / "context.txt"
    context.write_text("nguoi\tem\nkhan\tba_la_ca\n", encoding="utf-8")
    detector = DangerDetector.from_files(context=context)
    assert detector("em ba la ca") is not None
    context.write_text("nguoi\tem\nkhan\t* oops\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"context.txt:2"):
        DangerDetector.from_files(context=context)


def test_shipped_context_file_compiles_and_documents_itself() -> None:
    path = ROOT / "locales" / "danger_context.txt"
    keywords = DangerKeywords.from_file(path)
    assert {"nguoi", "gan_day", "can_giup", "khan", "chinh_sach", "chung", "qua_khu"} <= set(
        keywords.categories)
    assert "harm" in path.read_text(encoding="utf-8").split("\n@", 1)[0]


@pytest.mark.parametrize("text", ["", "   ", "/start", "😭" * 5000, "\x00\u202e", "1" * 100_000])
def test_never_raises(text: str) -> None:
    found = default_detector()(text)
    assert found is None or found.level in (DANGER, MAYBE)
