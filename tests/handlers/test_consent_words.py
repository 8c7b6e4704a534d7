"""Consent in the words women use, a short re-ask on a miss, and a commune name that only looks
like one (or is a pre-2025 name) confirmed with her before anything is chosen for her."""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.runtime import open_runtime
from storage import queries as q
from tests.chat import Member
from tests.conftest import ROOT


async def consented(runtime, user: str) -> bool:
    async with runtime.db.transaction() as conn:
        row = await conn.execute_fetchall(
            "SELECT consent_at FROM users WHERE external_id = ?", (user,))
    return bool(row and row[0]["consent_at"])


@pytest.mark.parametrize("typed", ["dong y", "đồng ý", "ok", "có", "dc", "đc", "ừ", "vâng",
                                   "đồng ý ạ", "Dạ đồng ý ạ", "OK chị", "Được ạ", "ĐỒNG Ý!"])
async def test_natural_yes_gives_consent_and_goes_on_to_the_commune(runtime, typed):
    lan = Member(runtime, user="lan")
    await lan.send("/start")
    await lan.send(typed)
    assert "Chị ở xã/phường nào?" in lan.text
    assert await consented(runtime, "lan")


@pytest.mark.parametrize("typed", ["không", "ko", "k", "không đồng ý", "ko dong y ạ", "thôi",
                                   "dạ không"])
async def test_natural_no_declines_and_keeps_nothing(runtime, typed):
    lan = Member(runtime, user="lan")
    await lan.send("/start")
    await lan.send(typed)
    assert "Hội không lưu gì cả" in lan.text
    async with runtime.db.transaction() as conn:
        assert await q.user_by_external_id(conn, "terminal", "lan") is None


async def test_an_unclear_answer_gets_a_short_re_ask_not_the_whole_welcome(runtime):
    lan = Member(runtime, user="lan")
    await lan.send("/start")
    welcome = lan.text
    assert "Xin chào chị" in welcome and len(welcome.splitlines()) >= 10
    await lan.send("em muon hoi cai nay")
    assert "Xin chào chị" not in lan.text and len(lan.text.splitlines()) <= 2
    assert "gõ 1" in lan.text and not await consented(runtime, "lan")
    await lan.send("1")  # the same two choices still work
    assert "Chị ở xã/phường nào?" in lan.text


async def at_commune_step(runtime, user="lan") -> Member:
    lan = Member(runtime, user=user)
    await lan.send("/start")
    await lan.send("1")
    return lan


async def test_a_name_that_only_looks_like_a_commune_is_asked_never_chosen(runtime):
    lan = await at_commune_step(runtime)
    await lan.send("muong xo")  # no commune of Lai Châu, then or now; close to Mường Mô
    assert "Ý chị là Xã Mường Mô?" in lan.text and "Nhóm vấn đề" not in lan.text
    await lan.send("không")
    assert "Chị ở xã/phường nào?" in lan.text and "Mường Mô" not in lan.text.split("\n")[0]
    await lan.send("muong xo")
    await lan.send("dung roi")
    assert "Xã/phường: Xã Mường Mô." in lan.text  # her yes, then it is chosen


async def test_a_pre_2025_commune_of_lai_chau_is_offered_the_commune_it_merged_into(runtime):
    # Mường So became part of Phong Thổ in 2025; it only looks like Mường Mô (the case).
    lan = await at_commune_step(runtime)
    await lan.send("muong so")
    assert "Từ tháng 7/2025, Xã Mường So đã sáp nhập vào Xã Phong Thổ. Ý chị là Xã Phong Thổ?" \
        in lan.text and "Mường Mô" not in lan.text
    await lan.send("1")
    assert "Xã/phường: Xã Phong Thổ." in lan.text


async def test_a_plain_name_or_a_small_typo_is_chosen_at_once(runtime):
    for typed, expected in (("nam tam", "Xã Nậm Tăm"), ("nam tamm", "Xã Nậm Tăm"),
                            ("em o xa muong te a", "Xã Mường Tè")):
        lan = await at_commune_step(runtime, user=typed.replace(" ", "_"))
        await lan.send(typed)
        assert f"Xã/phường: {expected}." in lan.text


async def test_a_pre_2025_name_from_config_is_confirmed_with_where_it_went(tmp_path, clock):
    text = (ROOT / "config.toml").read_text(encoding="utf-8").replace(
        '[communes.legacy]\n', '[communes.legacy]\n"Xã Bản Hon" = "Xã Bản Bo"\n', 1)
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    runtime = await open_runtime(load_config(path, environ={}), tmp_path / "t.db", clock=clock)
    try:
        lan = await at_commune_step(runtime)
        await lan.send("ban hon")
        assert "Từ tháng 7/2025, Xã Bản Hon đã sáp nhập vào Xã Bản Bo. Ý chị là Xã Bản Bo?" \
            in lan.text
        await lan.send("1")
        assert "Xã/phường: Xã Bản Bo." in lan.text
    finally:
        await runtime.close()


def test_the_packages_merger_tables_are_asked_about_too_and_only_within_the_province():
    from handlers.communes import CommuneBook

    calls = []

    def merged(typed: str) -> tuple[str, ...]:  # as vietnam-provinces 2026.x answers
        calls.append(typed)
        return ("Xã Bản Bo", "Xã Ở Tỉnh Khác") if "hon" in typed else ()

    book = CommuneBook(("Xã Bản Bo", "Xã Nậm Tăm"), legacy_search=merged)
    assert book.old_name("ban hon") == ("", "Xã Bản Bo")  # the other province's is ignored
    assert book.old_name("xyz") is None and calls == ["ban hon", "xyz"]
    assert not book.confident("muong so", "Xã Mường Mô") and book.confident("nam tamm",
                                                                               "Xã Nậm Tăm")
