"""Attack, red-team pass 3: a commune leader reads /xa_toi, where her members' named questions
are shown masked (`[leaders_view] member_texts = true`), looking for a member's phone, email,
house or name written the way women type them (tests/fakes/her_details.py). And the other
way: ordinary questions (offices, places, amounts, years, ages, hotlines) reach her unchanged.
"""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.runtime import open_runtime
from tests.chat import Member
from tests.fakes.her_details import DETAILS, TOPIC, Woman, assert_none_of_hers
from tests.fakes.offers import OFFERED


@pytest.fixture
async def texts_runtime(staff_config, clock, tmp_path):
    text = staff_config.path.read_text(encoding="utf-8").replace(
        "member_texts = false", "member_texts = true", 1)
    path = tmp_path / "texts.toml"
    path.write_text(text, encoding="utf-8")
    runtime = await open_runtime(load_config(path, environ={}), tmp_path / "t.db", clock=clock)
    yield runtime
    await runtime.close()


async def leader_screen(runtime) -> str:
    leader = Member(runtime, user="chi-hoi")  # configured leader of Xã Mường Tè
    await leader.send("/chi_hoi")
    await leader.send("1")  # her consent
    await leader.send("/xa_toi")
    return leader.text


async def test_commune_leader_reads_none_of_her_details(texts_runtime):
    for i, (detail, _) in enumerate(DETAILS):
        await Woman(texts_runtime, f"m{i}").stores("muong te", f"{detail}. {TOPIC}", named=True)
    screen = await leader_screen(texts_runtime)
    assert screen.count("vay vốn ưu đãi") == len(DETAILS)  # every question is listed
    members = screen[screen.index("Một số câu hỏi của hội viên"):]
    for _, secrets in DETAILS:
        assert_none_of_hers(members, secrets)


ORDINARY = [
    "Hội LHPN xã đề nghị Sở Y tế cử bác sĩ về trạm y tế xã Mường Tè",
    "Ngân hàng Chính sách xã hội cho vay 50 triệu năm 2025 có được gia hạn không",
    "Con gái em 16 tuổi đã bị ép lấy chồng, năm 2024 thôn có 200 hộ nghèo",
    "Nhà văn hóa bản Nà Tăm bị dột, đường vào bản sạt lở từ tháng 7",
    "Em muốn học nghề may ở Trung tâm giáo dục nghề nghiệp huyện cũ, học phí 2.500.000 đồng",
    "Hạn trả lời 25/7/2026, gọi 111 hoặc 1900 969 680 khi bị bạo lực gia đình",
    "Chị em ở bản Lò Suối Tủng cần lớp kỹ năng số dùng điện thoại thông minh",
    "Đề nghị Ban Thường vụ Hội hỗ trợ 30 hộ ở thôn Nà Hừ vay vốn nuôi gà, mỗi hộ 20 triệu",
]


async def test_ordinary_questions_reach_the_leader_unchanged(texts_runtime):
    """Over-masking check: policy words, offices, places, amounts, years, ages and hotlines
    are not taken for a name, a phone or an address."""
    shown = []
    for i, text in enumerate(ORDINARY):
        member = Woman(texts_runtime, f"o{i}")
        await member.asks("muong te", text)
        if OFFERED in member.text:
            await member.press("Câu của tôi khác")
        await member.send("1")  # named: shown to her commune's leader
        await member.send("gui")
        if "LC27-" in member.text:
            shown.append(text)  # not asked a sensitive-data consent: a leader may read it
    assert len(shown) >= 6
    screen = await leader_screen(texts_runtime)
    for text in shown:
        assert text[:100] in screen, text
    assert "ẩn]" not in screen
