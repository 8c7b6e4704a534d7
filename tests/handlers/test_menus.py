"""handlers/menus.py: what she may type instead of pressing, and how a menu reads as text."""

from __future__ import annotations

import pytest

from handlers.menus import BACK, CANCEL, menu, offered_from, render_text, resolve_typed
from handlers.types import Reply
from tests.chat import Member

OPTIONS = menu([("Gửi", "ask:send"), ("Sửa lại", "ask:edit"), ("Ẩn danh", "ask:anon:1")],
               back_label="Quay lại", cancel_label="Hủy")
OFFERED = offered_from([Reply("Chị xem lại:", OPTIONS)])


@pytest.mark.parametrize("typed, action", [
    ("1", "ask:send"), (" 2. ", "ask:edit"), ("3)", "ask:anon:1"), ("so 1", "ask:send"),
    ("0", BACK),
    ("gui", "ask:send"), ("Gửi", "ask:send"), ("GUI!", "ask:send"), ("an danh", "ask:anon:1"),
    ("sua lai", "ask:edit"), ("huy", CANCEL), ("Hủy", CANCEL), ("thoat", CANCEL),
    ("quay lai", BACK),
])
def test_a_typed_number_or_label_without_diacritics_is_the_button(typed, action):
    assert resolve_typed(typed, OFFERED) == action


@pytest.mark.parametrize("typed", ["4", "12", "gửi câu hỏi về nước sạch", "", "   ", "?!"])
def test_anything_else_is_her_own_words(typed):
    assert resolve_typed(typed, OFFERED) is None


def test_nothing_offered_nothing_resolves():
    assert resolve_typed("1", offered_from([Reply("Không có nút")])) is None


def test_a_menu_reads_as_a_numbered_list_with_back_last():
    text = render_text(Reply("Chị xem lại:", OPTIONS), "Chị gõ số.", "Gõ «{keyword}» để {label}.")
    assert text.splitlines() == [
        "Chị xem lại:", "", "1. Gửi", "2. Sửa lại", "3. Ẩn danh", "0. Quay lại",
        "Gõ «huy» để hủy.", "Chị gõ số."]


def test_a_reply_without_options_is_only_its_text():
    assert render_text(Reply("Cảm ơn chị."), "Chị gõ số.", "{keyword}") == "Cảm ơn chị."


async def test_a_forged_or_stale_button_is_refused_and_she_is_asked_again(runtime):
    m = Member(runtime)
    await m.send("/start")
    consent_menu = m.labels()
    await m.action("ask:send")  # never offered on this screen: forged or from an old message
    assert m.replies[0].text == runtime.services.locale.t("error.stale_button")
    assert m.labels() == consent_menu  # asked again, never left without a way on
    await m.send("1")  # the menu she was shown still works: "1" is still "đồng ý"
    assert runtime.services.locale.t("error.stale_button") not in m.text
    assert m.labels() != consent_menu
    async with runtime.db.transaction() as conn:
        assert not await (await conn.execute("SELECT 1 FROM questions")).fetchone()
