"""Attack as a commune leader (or someone pretending to be one): read /xa_toi looking for the
members' words, use it before consenting, use an old invite code, guess codes."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import ConfigError, load_config
from bot.runtime import open_runtime
from tests.chat import Member
from tests.conftest import STAFF_TELEGRAM_ID

PHONE = "0912345678"
NAMED = (f"Em tên Sùng Thị Pà, số {PHONE}. Chị em bản Pa Ủ muốn vay vốn ưu đãi chăn nuôi bò "
         "sinh sản thì làm thủ tục ở đâu ạ")
ANONYMOUS = "Bản Nậm Khao chưa có nước sạch, chị em phải gánh nước suối xa hai cây số"
DANGER = "Chồng em say rượu đánh em và con hằng đêm, em không dám về nhà, em ở bản Tá Bạ"
HERS = (PHONE, "Sùng", "Pa Ủ", "Nậm Khao", "gánh nước", "đánh em", "Tá Bạ")
RELAY = "Chi hội đề nghị mở lớp dạy nghề may cho chị em dân tộc thiểu số ở bản"


async def members_of_muong_te(runtime) -> None:
    for user, text, anonymity in (("m1", NAMED, "1"), ("m2", ANONYMOUS, "2"),
                                  ("m3", DANGER, "1")):
        m = Member(runtime, user=user)
        for line in ("/start", "1", "muong te", "1" if user != "m2" else "2", text, anonymity,
                     "gui"):
            await m.send(line)


def assert_no_member_words(text: str) -> None:
    for word in HERS:
        assert word not in text, f"the leader read {word!r}"


async def relay_one(leader: Member) -> None:
    for line in ("1", "1", RELAY, "30"):
        await leader.send(line)
    await leader.press("Bỏ qua")
    await leader.press("Kết thúc")


async def test_xa_toi_needs_her_consent_then_shows_counts_and_her_relays(staff_runtime):
    await members_of_muong_te(staff_runtime)
    leader = Member(staff_runtime, user="chi-hoi")  # configured leader of Xã Mường Tè
    await leader.send("/xa_toi")
    assert "đồng ý" in leader.text and "LC27-" not in leader.text  # consent first
    assert_no_member_words(leader.text)
    await leader.send("/chi_hoi")
    await relay_one(leader)  # she consents ("1" above), then relays one
    await leader.send("/xa_toi")
    screen = leader.text
    assert RELAY[:40] in screen  # her own relay, with its receipt
    assert "3 câu hỏi" in screen  # the members are counted
    assert_no_member_words(screen)


async def test_config_rule_allows_masked_non_urgent_named_texts_only(staff_config, clock,
                                                                     tmp_path):
    text = staff_config.path.read_text(encoding="utf-8").replace(
        "member_texts = false", "member_texts = true", 1)
    path = tmp_path / "allow.toml"
    path.write_text(text, encoding="utf-8")
    runtime = await open_runtime(load_config(path, environ={}), tmp_path / "a.db", clock=clock)
    try:
        await members_of_muong_te(runtime)
        leader = Member(runtime, user="chi-hoi")
        await leader.send("/chi_hoi")
        await leader.send("1")  # consent
        await leader.send("/xa_toi")
        screen = leader.text
        assert "vay vốn ưu đãi chăn nuôi" in screen and "[SĐT ẩn]" in screen
        assert "…678" not in screen  # another woman reads no digit of her phone
        for word in (PHONE, "Sùng", "Nậm Khao", "gánh nước", "đánh em", "Tá Bạ"):
            assert word not in screen  # no phone, no name, not the anonymous or danger one
    finally:
        await runtime.close()


async def invite(runtime) -> str:
    staff = Member(runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
    await staff.send("/moi_can_bo nam tam")
    return next(w for w in staff.text.split() if w.startswith("CB-"))


async def test_invite_code_expires(staff_runtime, clock):
    code = await invite(staff_runtime)
    clock.now += dt.timedelta(days=8)  # shipped: codes are valid 7 days
    leader = Member(staff_runtime, user="300", channel="telegram")
    await leader.send(f"/can_bo {code}")
    assert "hết hạn" in leader.text and "Xã Nậm Tăm" not in leader.text
    await leader.send("/xa_toi")
    assert "dành cho cán bộ" in leader.text


async def test_wrong_codes_lock_that_user_out_for_a_while(staff_runtime, clock):
    code = await invite(staff_runtime)
    guesser = Member(staff_runtime, user="301", channel="telegram")
    for guess in ("CB-AAAAAA", "CB-BBBBBB", "CB-CCCCCC", "CB-DDDDDD", "CB-EEEEEE"):
        await guesser.send(f"/can_bo {guess}")
    await guesser.send(f"/can_bo {code}")  # even the right code is refused now
    assert "tạm khóa" in guesser.text and "Xã Nậm Tăm" not in guesser.text
    honest = Member(staff_runtime, user="302", channel="telegram")  # per user, not global
    await honest.send("/can_bo CB-ZZZZZZ")
    assert "tạm khóa" not in honest.text
    clock.now += dt.timedelta(hours=2)
    await guesser.send(f"/can_bo {code}")
    assert "Xã Nậm Tăm" in guesser.text


@pytest.mark.parametrize("bad", ["0", "-3", '"7"', "400"])
def test_invite_duration_is_validated(tmp_path, bad):
    from tests.fakes.shipped_config import SHIPPED
    path = tmp_path / "c.toml"
    path.write_text(SHIPPED.replace("valid_days = 7", f"valid_days = {bad}", 1),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"invites\.valid_days"):
        load_config(path, environ={})
