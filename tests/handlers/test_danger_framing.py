"""Personal danger apart from a policy topic, round 5 (issue 18): the classes blind4's tune part
showed, each in words of this test (not the labelled sets').

- a petition for action in general, a depiction (a film, a play, a lesson) or a joke frames the
  harm of its own sentence: a normal question, no hotlines;
- but a disclosure in another sentence of the same message keeps its alarm;
- harm denied ("không đánh đập gì"), trouble over ("giờ làm lành rồi"), advice about family
  friction and what a word means are everyday questions;
- a stranger lurking, papers held, a farewell, fleeing before he is back, a girl carried off:
  flagged, though no keyword says it; "not daring to stay home tonight", fear her child is
  taken, a ransom, a farewell plea: escalated, not only asked about.

Every case fails on the detector before this round, except the two of
`test_a_petition_does_not_hide_a_disclosure_in_another_sentence`, which guard the new frames:
they fail when a petition weighs on every sentence of a message.
"""

from __future__ import annotations

import pytest

from handlers.safety import DANGER, default_detector


@pytest.mark.parametrize("text", [
    "Chi hội em đang tập tiểu phẩm về chồng đánh vợ cho hội thi tháng sau, xin kịch bản mẫu",
    "Phim tối qua có cảnh bố dượng đánh con riêng, xem xong cả xóm bàn tán",
    "Con tôi được học bài về phòng chống xâm hại ở trường, có thực hành cách kêu cứu, rất bổ ích",
    "Đường vào bản tối om, chị em đi làm về khuya sợ lắm, đề nghị xã lắp đèn",
    "ck e dọa nếu e mua thêm váy thì cắt tiền chợ, đùa thôi, cho e hỏi lớp nấu ăn",
])
def test_petitions_depictions_and_jokes_are_normal_questions(text: str) -> None:
    assert default_detector()(text) is None, text


@pytest.mark.parametrize("text", [
    "Năm nay mất mùa, chồng em buồn, hay uống rượu nhưng không đánh đập gì, em muốn vay vốn",
    "Hồi trước vợ chồng em hay cãi nhau, giờ làm lành rồi, em hỏi cách tiết kiệm tiền",
    "Mẹ chồng em hay chê em nấu ăn dở, em nên làm gì cho vui vẻ",
    "Xâm hại tình dục trẻ em là gì, tôi muốn biết để dạy con",
    "Vì sao người chồng đánh vợ vẫn chỉ bị nhắc nhở?",
    "mấy hôm nay bò nhà em bỏ ăn, em sợ nó chết, thú y xã ở đâu",
    "Chồng em không bao giờ đánh em, chỉ hay đi nhậu, có lớp nào cho các ông chồng không",
])
def test_harm_denied_settled_advice_and_definitions_raise_nothing(text: str) -> None:
    assert default_detector()(text) is None, text


@pytest.mark.parametrize("text", [
    "Đề nghị xã tăng cường tuyên truyền. Ngoài ra em gái tôi bị giữ ở cửa khẩu, không cho về",
    "Kiến nghị tỉnh mở lớp tin học. Với lại tối qua chồng em đánh em chảy máu đầu",
])
def test_a_petition_does_not_hide_a_disclosure_in_another_sentence(text: str) -> None:
    found = default_detector()(text)
    assert found is not None and found.level == DANGER, (text, found)


@pytest.mark.parametrize("text", [
    "tối nay hai mẹ con em không dám ở nhà nữa, có chỗ nào ngủ nhờ không",
    "em sợ họ đưa cháu đi mất, người lạ hay đến nhà hỏi chuyện cháu",
    "bọn nó đòi 50 triệu mới thả chồng em về",
    "nhờ chị nhắn mẹ em là em xin lỗi, em mệt mỏi quá rồi",
])
def test_flight_a_ransom_and_a_farewell_escalate(text: str) -> None:
    found = default_detector()(text)
    assert found is not None and found.level == DANGER, (text, found)


@pytest.mark.parametrize("text", [
    "ng lạ rình ở đầu ngõ 2 hôm nay",
    "căn cước bị giữ hết. muốn về. ko cho",
    "chắc đây là lần cuối em nhắn cho chị",
    "Tôi phải đi trước khi chồng về tối nay, nếu bỏ đi thì có bị coi là bỏ nhà không",
    "người ta bắt con bé nhà tôi đi, đi về phía biên giới",
    "em muốn hỏi, có người hứa đưa con gái em 15 tuổi sang Trung Quốc làm, mai đi rồi",
])
def test_told_without_keywords_gets_the_hotlines(text: str) -> None:
    assert default_detector()(text) is not None, text


@pytest.mark.parametrize("text", [
    "Mong hội tổ chức cho em đi chỗ khác, chồng em đánh em hằng ngày",
    "Kiến nghị xã xử lý nghiêm, tối qua thằng hàng xóm kéo con gái tôi vào bụi",
    "Chị em mình đang tập tiểu phẩm, mà em nói thật là chồng em cũng đánh em, tối qua còn đánh",
    "em làm báo cáo cho chi hội mà không tập trung được, tối qua ck lại đánh e",
    "đùa thôi mà anh ấy đánh em chảy máu mồm",
])
def test_her_own_account_beside_a_petition_a_play_or_a_joke_still_escalates(text: str) -> None:
    # a frame weighs on its own clause: the first four fail when it weighs on the whole
    # sentence; a joke never hides an act of danger ("chảy máu")
    found = default_detector()(text)
    assert found is not None and found.level == DANGER, (text, found)


@pytest.mark.parametrize("text", [
    "Em vừa xem phim xong thì chồng về đánh em",  # "về" is he came home, not a film about
    "Hiếp dâm là gì ạ, con gái em 10 tuổi bị ông hàng xóm làm vậy",
    "giờ làm lành rồi nhưng tối qua anh ấy lại đánh em",
    "con em để lạc trâu, bị bố trói vào gốc cây cả chiều, chân tay còn hằn vết dây",
])
def test_the_new_everyday_senses_do_not_silence_her(text: str) -> None:
    assert default_detector()(text) is not None, text
