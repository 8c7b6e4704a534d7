"""Several dialogues over the years, each with its own window, and the real commune list."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.communes import load_communes
from bot.config import load_config
from bot.runtime import open_runtime
from tests.chat import Member
from tests.conftest import ROOT

SHIPPED = (ROOT / "config.toml").read_text(encoding="utf-8")

NEXT_YEAR = '''
[[dialogues]]
id = "lai-chau-2028"
code = "LC28"
title = "Đối thoại giữa Chủ tịch UBND tỉnh với Phụ nữ tỉnh Lai Châu năm 2028"
province = "Lai Châu"
province_code = 12
theme = "Phụ nữ với chuyển đổi số"
opens = 2027-11-01
closes = 2028-07-15
answer_deadline = 2028-07-25
summary_deadline = 2028-07-31
topics = ["Kỹ năng số", "Khác"]
'''

KON_TUM = '''
[[dialogues]]
id = "kon-tum-test"
code = "KT26"
title = "Chương trình gặp gỡ, đối thoại với phụ nữ (Quảng Ngãi, khu vực Kon Tum cũ)"
province = "Quảng Ngãi"
province_code = 51
theme = "Bình đẳng giới và những vấn đề cần quan tâm đối với phụ nữ và trẻ em"
opens = 2026-10-01
closes = 2026-12-29
answer_deadline = 2027-01-15
summary_deadline = 2027-01-20
topics = ["Bảo vệ quyền, phòng ngừa bạo lực trên cơ sở giới", "An sinh xã hội, việc làm",
          "Cán bộ nữ, cán bộ nữ dân tộc thiểu số", "Giáo dục, đào tạo cho phụ nữ và trẻ em", "Khác"]
'''


async def runtime_with(tmp_path, clock, extra: str):
    text = SHIPPED.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    path = tmp_path / "c.toml"
    path.write_text(text + extra, encoding="utf-8")
    return await open_runtime(load_config(path, environ={}), tmp_path / "d.db", clock=clock)


async def test_two_open_dialogues_she_chooses(tmp_path, clock):
    runtime = await runtime_with(tmp_path, clock, KON_TUM)
    try:
        m = Member(runtime)
        await m.send("/start")
        assert "nhiều đợt" in m.text
        await m.press("Kon Tum")
        assert "Bình đẳng giới và những vấn đề" in m.text
        await m.send("1")
        await m.send("dak to")  # a commune of the merged Quảng Ngãi province
        assert "Xã Đăk Tô" in m.text
        assert any("Bảo vệ quyền" in label for label in m.labels())  # its own topics
    finally:
        await runtime.close()


async def test_next_years_dialogue_is_config_only_and_old_questions_stay(tmp_path, clock):
    runtime = await runtime_with(tmp_path, clock, NEXT_YEAR)
    try:
        m = Member(runtime)
        for line in ("/start", "1", "nam tam", "1", "Xin hỏi về vay vốn nuôi lợn cho hộ nghèo",
                     "1", "1"):
            await m.send(line)
        assert "LC27-000001" in m.text
        clock.now = dt.datetime(2027, 7, 20, tzinfo=dt.UTC)  # between the two windows
        await m.send("/start")
        assert "chưa bắt đầu" in m.text and "01/11/2027" in m.text
        clock.now = dt.datetime(2027, 12, 1, tzinfo=dt.UTC)
        for line in ("/start", "nam tam", "1", "Học kỹ năng số cho chị em ở bản thế nào ạ", "1",
                     "1"):
            await m.send(line)
        assert "LC28-000001" in m.text
        await m.send("/cua_toi")
        assert "LC27-000001" in m.text and "LC28-000001" in m.text
        async with runtime.db.transaction() as conn:
            rows = await (await conn.execute(
                "SELECT dialogue_id FROM questions ORDER BY id")).fetchall()
        assert [r[0] for r in rows] == ["lai-chau-2027", "lai-chau-2028"]
    finally:
        await runtime.close()


BOOK = load_communes(12)


@pytest.mark.parametrize(("typed", "expected"), [
    ("nam tam", "Xã Nậm Tăm"), ("Nậm Tăm", "Xã Nậm Tăm"), ("xa nam tam", "Xã Nậm Tăm"),
    ("Xã Nậm Tăm", "Xã Nậm Tăm"), ("NAM TAM", "Xã Nậm Tăm"), ("nam tamm", "Xã Nậm Tăm"),
    ("x. nam tam", "Xã Nậm Tăm"), ("nâm tăm", "Xã Nậm Tăm"), ("muong te", "Xã Mường Tè"),
    ("xa muong te", "Xã Mường Tè"), ("muongte", "Xã Mường Tè"), ("sin ho", "Xã Sìn Hồ"),
    ("sìn hồ", "Xã Sìn Hồ"), ("tan phong", "Phường Tân Phong"),
    ("phuong tan phong", "Phường Tân Phong"), ("p. doan ket", "Phường Đoàn Kết"),
    ("doan ket", "Phường Đoàn Kết"), ("ta leng", "Xã Tả Lèng"), ("pa u", "Xã Pa Ủ"),
    ("tua sin chai", "Xã Tủa Sín Chải"), ("tủa sín chải", "Xã Tủa Sín Chải"),
    ("bum nua", "Xã Bum Nưa"), ("khun ha", "Xã Khun Há"), ("pu sam cap", "Xã Pu Sam Cáp"),
    ("than uyen", "Xã Than Uyên"), ("em o xa nam tam a", "Xã Nậm Tăm"),
])
def test_typed_commune_names(typed, expected):
    assert BOOK.search(typed) == [expected]


def test_ambiguous_input_offers_the_closest_choices():
    found = BOOK.search("muong")
    assert len(found) > 1 and all(name.startswith("Xã Mường") for name in found)
    assert BOOK.search("zzzz") == []


def test_lai_chau_has_its_post_2025_communes():
    assert len(BOOK) == 38
    assert "Phường Tân Phong" in BOOK.names and "Xã Nậm Tăm" in BOOK.names


def test_the_current_dialogue_is_the_chosen_else_the_open_else_the_latest(tmp_path):
    """One choice for staff commands, leaders, the console and the CLI reports."""
    path = tmp_path / "c.toml"
    path.write_text(SHIPPED.replace('locale = "locales/vi.toml"',
                                    f'locale = "{ROOT}/locales/vi.toml"') + NEXT_YEAR,
                    encoding="utf-8")
    settings = load_config(path, environ={}).settings
    in_2027 = dt.date(2027, 3, 1)
    between = dt.date(2027, 7, 20)
    assert settings.current_dialogue(in_2027).id == "lai-chau-2027"
    assert settings.current_dialogue(in_2027, "lai-chau-2028").id == "lai-chau-2028"
    assert settings.current_dialogue(in_2027, "gone-from-config").id == "lai-chau-2027"
    assert settings.current_dialogue(between).id == "lai-chau-2028"  # none open: the latest
