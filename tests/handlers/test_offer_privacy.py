"""Attack: woman B reads everything the bot sends her, looking for woman A's phone, name, words.

A writes her name and phone into her question; B types a similar one. Whatever B is shown of
A's question is the cluster's staff wording or, before staff worded it, only words B typed
herself that A's question shares; an urgent or danger question,
a rejected one or a deleted one is never shown at all, even when the matching index is stale
(after a restart it is rebuilt from every stored question).
"""

from __future__ import annotations

import re

import pytest

from bot.runtime import open_runtime
from tests.chat import Member
from tests.conftest import STAFF_TELEGRAM_ID as STAFF
from tests.fakes.offers import LOAN, OFFERED, SIMILAR, ask, assert_nothing_of_hers, chat

DANGER = LOAN.replace("Em muốn", "Chồng em hay đánh em. Em muốn")


async def test_terminal_b_sees_only_her_own_words_before_staff_worded_it(staff_runtime):
    await chat(staff_runtime, "a", ask(LOAN, "2", "gui"))  # anonymous, sent
    screen = await chat(staff_runtime, "b", ask(SIMILAR))
    assert OFFERED in screen  # the offer was made
    offered = screen[screen.index(OFFERED):]
    assert '"vay vốn ưu đãi chăn nuôi bò sinh sản thì làm thủ tục thế nào ạ"' in offered
    assert "Em muốn" not in offered and "số điện thoại" not in offered  # A's own words
    assert "[SĐT ẩn" not in screen and "[tên ẩn]" not in screen
    assert_nothing_of_hers(screen)


# The red team's attacks (notes/redteam.md, promise 1): A anonymous, B in the same commune types
# a question like hers. B was offered A's name in full.
REDTEAM = [
    ("em là lò thị mến, hỏi về bảo hiểm xã hội tự nguyện cho nông dân ạ",
     "hỏi về bảo hiểm xã hội tự nguyện cho nông dân thế nào ạ", ("lò thị mến", "mến")),
    ("em ten la nguyen thi hoa, zalo 0 9 1 2 3 4 5 6 8 0, em muon hoc ky nang so dung dien "
     "thoai thong minh", "em muon hoc ky nang so dung dien thoai thong minh o dau a",
     ("nguyen thi hoa", "zalo", "680")),
    ("Tôi Hà Thị Lan, CCCD 012345678901, email lan.ha.test@gmail.com, hỏi vì sao tỷ lệ nữ cán "
     "bộ lãnh đạo xã còn thấp", "vì sao tỷ lệ nữ cán bộ lãnh đạo xã còn thấp vậy ạ",
     ("Hà Thị Lan", "Lan", "901", "gmail", "CCCD")),
    ("Tôi, Vàng Thị Mỷ, ở bản Phiêng Lúc hỏi về việc cấp thẻ bảo hiểm y tế cho trẻ dưới 6 tuổi ạ",
     "hỏi về việc cấp thẻ bảo hiểm y tế cho trẻ dưới 6 tuổi ạ", ("Vàng", "Mỷ", "Phiêng Lúc")),
]


@pytest.mark.parametrize(("hers", "similar", "secret"), REDTEAM, ids=["men", "hoa", "lan", "my"])
async def test_redteam_names_never_reach_b(staff_runtime, hers, similar, secret):
    await chat(staff_runtime, "a", ["/start", "1", "nam tam", "7", hers, "2", "gui"])
    screen = await chat(staff_runtime, "b", ["/start", "1", "nam tam", "7", similar])
    assert OFFERED in screen
    offered = screen[screen.index(OFFERED):]
    for word in secret:
        assert word.lower() not in offered.lower(), f"B was shown {word!r}"
    # what she reads of the other question are words she typed herself
    quoted = re.search(r'1\. "(.+)" \(\d+ người đã hỏi\)', offered)
    assert quoted is not None
    assert all(w in similar for w in quoted.group(1).replace(" … ", " ").split())


async def test_staff_wording_replaces_her_words(staff_runtime):
    await chat(staff_runtime, "a", ask(LOAN, "2", "gui"))
    staff = Member(staff_runtime, user="900", channel="telegram")
    await staff.send("/noidung 1 Thủ tục vay vốn ưu đãi để chăn nuôi bò sinh sản")
    assert "Đã lưu câu chữ chung" in staff.text
    screen = await chat(staff_runtime, "b", ask(SIMILAR + ", chị ơi", "1"))
    assert "Thủ tục vay vốn ưu đãi để chăn nuôi bò sinh sản" in screen
    assert "Em muốn vay vốn" not in screen and "[SĐT ẩn" not in screen
    assert_nothing_of_hers(screen)
    # B supported it: her own list shows the staff wording, not A's words
    mine = await chat(staff_runtime, "b", ["/cua_toi"])
    assert "Thủ tục vay vốn ưu đãi" in mine
    assert_nothing_of_hers(mine)


async def test_supporter_list_shows_the_topic_not_her_text(staff_runtime):
    await chat(staff_runtime, "a", ask(LOAN, "2", "gui"))
    screen = await chat(staff_runtime, "b", ask(SIMILAR, "1", "/cua_toi"))
    assert "chị ủng hộ câu hỏi này" in screen
    mine = screen[screen.rindex("Các câu hỏi của chị"):]
    assert "Câu hỏi chung về chủ đề" in mine and "vay vốn ưu đãi chăn nuôi" not in mine
    assert_nothing_of_hers(screen)


async def test_danger_disclosure_is_never_offered_even_after_restart(staff_config, clock,
                                                                     tmp_path):
    db = tmp_path / "offer.db"
    runtime = await open_runtime(staff_config, db, clock=clock)
    try:
        first = await chat(runtime, "a", ask(DANGER, "2", "gui"))
        assert "111" in first  # she was given the hotlines: her question is urgent
        screen = await chat(runtime, "b", ask(SIMILAR))
        assert "Chồng em" not in screen and OFFERED not in screen
        assert_nothing_of_hers(screen)
    finally:
        await runtime.close()
    runtime = await open_runtime(staff_config, db, clock=clock)  # index rebuilt from the DB
    try:
        screen = await chat(runtime, "c", ask(SIMILAR))
        assert "Chồng em" not in screen and OFFERED not in screen
        assert_nothing_of_hers(screen)
    finally:
        await runtime.close()


async def test_stale_index_flagged_rejected_or_deleted_is_not_offered(staff_runtime):
    """The index keeps A's question; the database says it must not be shown."""
    staff = Member(staff_runtime, user="900", channel="telegram")
    await chat(staff_runtime, "a", ask(LOAN, "2", "gui"))
    await staff.send("/khan 1")  # staff flag it urgent: no longer shown to anyone
    screen = await chat(staff_runtime, "b", ask(SIMILAR))
    assert OFFERED not in screen
    assert_nothing_of_hers(screen)
    await staff.send("/khan 1")  # unflagged: offered again, masked
    screen = await chat(staff_runtime, "b2", ask(SIMILAR))
    assert OFFERED in screen
    await staff.send("/tuchoi LC27-000001 Không thuộc chủ đề")  # her question rejected
    screen = await chat(staff_runtime, "b4", ask(SIMILAR))
    assert OFFERED not in screen
    assert_nothing_of_hers(screen)
    await chat(staff_runtime, "a2", ask(LOAN.replace("Em tên", "Chị tên"), "2", "gui"))
    screen = await chat(staff_runtime, "b5", ask(SIMILAR))
    assert OFFERED in screen  # a second question like hers is offered (masked)
    await chat(staff_runtime, "a2", ["/xoa_du_lieu", "1"])  # and its asker deletes her data
    screen = await chat(staff_runtime, "b3", ask(SIMILAR))
    assert OFFERED not in screen and "vay vốn ưu đãi chăn nuôi bò sinh sản thì" not in (
        screen.replace(SIMILAR, ""))
    assert_nothing_of_hers(screen)


async def test_offer_dropped_when_flagged_while_she_looks(staff_runtime):
    """B is looking at the offer when staff flag it: pressing it again never shows A's text."""
    await chat(staff_runtime, "a", ask(LOAN, "2", "gui"))
    b = Member(staff_runtime, user="b", channel="terminal")
    for line in ask(SIMILAR):
        await b.send(line)
    assert OFFERED in b.text
    staff = Member(staff_runtime, user="900", channel="telegram")
    await staff.send("/khan 1")
    await b.send("/help")  # shows the current step again
    assert OFFERED not in b.text and "[SĐT ẩn" not in b.text


async def test_her_display_name_written_without_a_cue_is_masked_too(staff_runtime):
    """She signs with her Telegram name ("Giàng Thị Mỷ ở bản…"): no "tên" cue, still masked."""
    from tests.fakes.her_words import Person

    her = Person(staff_runtime, "5800111222", "Giàng Thị Mỷ")
    signed = ("Giàng Thị Mỷ ở bản Pa Ủ xin hỏi vay vốn ưu đãi chăn nuôi bò sinh sản thì làm thủ "
              "tục thế nào ạ")
    for line in ("/start", "1", "nam tam", "1", signed, "1", "gui"):
        await her.send(line)
    b = Member(staff_runtime, user="b", channel="telegram")
    for line in ("/start", "1", "nam tam", "1", SIMILAR):
        await b.send(line)
    assert OFFERED in b.text and "Pa Ủ" not in b.text  # her bản is hers, B did not type it
    await b.press("Ủng hộ câu 1")
    await b.send("/cua_toi")
    assert "Câu hỏi chung về chủ đề" in b.text and "Pa Ủ" not in b.text
    for word in ("Giàng", "Mỷ"):
        assert word not in b.text


async def test_a_guess_of_her_name_place_or_children_is_no_oracle(staff_runtime):
    # Red-team pass 5, F1: the offer quoted back whichever of B's words A's question held, so
    # B could confirm A's bản ("bản Nà Tăm" echoed, "bản Huổi Luông" not), "có 3 con", and a
    # name the masker missed ("Nguyễn Hoa xin hỏi ạ" was offered A's question).
    hers = ("Em Nguyễn Hoa ở bản Nà Tăm, nhà có 3 con nhỏ, muốn vay vốn ưu đãi chăn nuôi bò "
            "sinh sản thì làm thủ tục thế nào ạ")
    await chat(staff_runtime, "a", ask(hers, "2", "gui"))
    guess = await chat(staff_runtime, "b", ask("Nguyễn Hoa ở bản Nà Tăm có 3 con xin hỏi ạ"))
    assert OFFERED not in guess  # nothing but her name, place and children matched
    similar = await chat(staff_runtime, "c", ask(
        "Em ở bản Nà Tăm có 3 con, muốn vay vốn ưu đãi chăn nuôi bò sinh sản thì làm sao ạ"))
    assert OFFERED in similar  # a real look-alike is still offered
    offered = similar[similar.index(OFFERED):]
    for detail in ("Nà Tăm", "Tăm", "3 con", "Nguyễn", "Hoa"):
        assert detail not in offered, detail
    assert "vay vốn ưu đãi chăn nuôi bò sinh sản" in offered


OTHERS = ["Đường vào bản bị sạt lở, xe máy không đi được",
          "Trạm y tế xã thiếu thuốc, khám xong phải về tự mua",
          "Rác thải ở suối đầu bản không ai thu gom, bốc mùi",
          "Điểm trường mầm non thiếu giáo viên, một cô dạy ba lứa tuổi",
          "Sóng điện thoại yếu, muốn gọi phải leo lên đồi"]


async def test_a_guess_is_no_oracle_once_other_questions_are_stored(staff_runtime):
    """The attack above, with five other women's questions stored first (any real dialogue):
    the matcher then finds A's question from B's guess (her bản's name is a rare word), and
    "ở bản" was all they shared, which counted as her own words: B was offered "… ở bản …", so
    she learned a question from bản Nà Tăm with 3 children exists. Place cues ("bản", "thôn")
    say nothing of what she asks, like "ở" or "em"."""
    for i, other in enumerate(OTHERS):
        await chat(staff_runtime, f"o{i}", ask(other, "2", "gui"))
    hers = ("Em Nguyễn Hoa ở bản Nà Tăm, nhà có 3 con nhỏ, muốn vay vốn ưu đãi chăn nuôi bò "
            "sinh sản thì làm thủ tục thế nào ạ")
    await chat(staff_runtime, "a", ask(hers, "2", "gui"))
    guess = await chat(staff_runtime, "b", ask("Nguyễn Hoa ở bản Nà Tăm có 3 con xin hỏi ạ"))
    assert OFFERED not in guess


async def test_a_staff_wording_is_masked_for_other_members(staff_runtime):
    # Red-team pass 5, F2: staff pasted the masked text into the wording; B read it as written.
    await chat(staff_runtime, "a", ask(LOAN, "2", "gui"))
    s = Member(staff_runtime, user=STAFF, channel="telegram")
    await s.send("/noidung 1 Chị Sùng Thị Pà, bản Khuổi Phạc, gọi 0912 345 678, hỏi vay vốn ưu "
                 "đãi chăn nuôi bò sinh sản")
    screen = await chat(staff_runtime, "b", ask(SIMILAR))
    assert OFFERED in screen
    assert_nothing_of_hers(screen)
