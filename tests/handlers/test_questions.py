"""Filing a question (handlers.questions): each way in lands in the right cluster and the
matching index, and the index follows only what was committed.

The index is read the way a member notices it: whether a later question like it is offered
("gần giống") and which cluster it joins. Rejection, erasure, urgent marks, merges and splits
are attacked the same way in test_matching_flows.py; here, the paths that file."""

from __future__ import annotations

import pytest

from handlers import ask_question
from tests.chat import Member
from tests.conftest import STAFF_TELEGRAM_ID

QUESTION = "Chị em muốn vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào"
SAME = "chi em muon vay von uu dai de chan nuoi bo sinh san thi lam the nao a"
OTHER = "Rác thải ở suối đầu bản không ai thu gom, bốc mùi"
# Close in wording: one asks about policy, the other tells of danger now.
POLICY = "Chồng say rượu về là đánh vợ con thì xã xử lý thế nào"
DANGER = "chong say ruou ve la danh vo con thi xa xu ly the nao, e so lam, cuu e voi"


async def start(runtime, user: str, text: str, topic: str = "1") -> Member:
    """A member types her way up to her question; what she sees next is in `m.text`."""
    m = Member(runtime, user=user, channel="telegram")
    for line in ("/start", "1", "nam tam", topic, text):
        await m.send(line)
    return m


async def send_named(m: Member) -> None:
    """She says hers differs if offered one, then sends it under her name."""
    if "gần giống" in m.text:
        await m.press("Câu của tôi khác")
    await m.send("1")  # named
    await m.send("1")  # send


def receipt_in(m: Member) -> str:
    return next(w.strip(".,:") for w in m.text.split() if w.startswith("LC27-"))


async def column(runtime, sql: str, *args) -> list:
    async with runtime.db.transaction() as conn:
        return [r[0] for r in await (await conn.execute(sql, args)).fetchall()]


async def cluster_of(runtime, receipt: str) -> int:
    return (await column(runtime, "SELECT cluster_id FROM questions WHERE receipt = ?",
                         receipt))[0]


async def relay(runtime, text: str, topic: str = "1", count: str = "30") -> Member:
    leader = Member(runtime, user="chi-hoi")  # configured in [[leaders]]
    await leader.send("/chi_hoi")
    await leader.send("1")  # consent
    for line in (topic, text, count):
        await leader.send(line)
    await leader.press("Bỏ qua")  # no meeting date
    assert "thay mặt" in leader.text
    return leader


async def test_a_member_question_opens_a_cluster_the_next_like_it_is_offered(staff_runtime):
    first = await start(staff_runtime, "1", QUESTION)
    assert "gần giống" not in first.text
    await send_named(first)
    second = await start(staff_runtime, "2", SAME)
    assert "gần giống" in second.text
    await second.press("Ủng hộ câu 1")
    assert await cluster_of(staff_runtime, receipt_in(second)) == await cluster_of(
        staff_runtime, receipt_in(first))
    assert await column(staff_runtime, "SELECT kind FROM questions ORDER BY id") == [
        "member", "support"]


async def test_a_relay_joins_her_cluster_and_is_in_the_index_itself(staff_runtime):
    first = await start(staff_runtime, "1", QUESTION)
    await send_named(first)
    cluster = await cluster_of(staff_runtime, receipt_in(first))
    leader = await relay(staff_runtime, SAME)
    assert await cluster_of(staff_runtime, receipt_in(leader)) == cluster
    await first.send("/xoa_du_lieu")  # her words leave the index; the relay's stay
    await first.press("Xóa thông tin")
    assert "Đã xóa" in first.text
    third = await start(staff_runtime, "3", QUESTION)
    assert "gần giống" in third.text
    await third.press("Ủng hộ câu 1")
    assert await cluster_of(staff_runtime, receipt_in(third)) == cluster


async def test_words_stored_at_once_for_danger_join_no_cluster_and_hide_none(staff_runtime):
    first = await start(staff_runtime, "1", POLICY, topic="4")
    assert "111" not in first.text  # a policy question, not a disclosure
    await send_named(first)
    cluster = await cluster_of(staff_runtime, receipt_in(first))
    victim = await start(staff_runtime, "d1", DANGER, topic="4")  # stored at once, urgent
    assert "LC27-000002" in victim.text
    assert await cluster_of(staff_runtime, "LC27-000002") != cluster
    assert await column(staff_runtime, "SELECT urgent FROM clusters ORDER BY id") == [0, 1]
    # Her cluster stays out of the index; the other member's question is still offered.
    third = await start(staff_runtime, "3", POLICY.lower(), topic="4")
    assert "gần giống" in third.text and "cuu e" not in third.text


async def test_a_rolled_back_question_leaves_nothing_in_the_index(staff_runtime, monkeypatch):
    """The message fails after her question was filed: nothing of it may be offered or joined
    later, even when the next question reuses its row and cluster ids."""
    async def broken(ctx, question_id):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(ask_question.sensitive, "record_consent", broken)
        lost = await start(staff_runtime, "1", QUESTION)
        await send_named(lost)
        assert "LC27-" not in lost.text  # told it was not stored
    assert await column(staff_runtime, "SELECT count(*) FROM questions") == [0]
    other = await start(staff_runtime, "2", OTHER)
    await send_named(other)
    assert "LC27-" in other.text
    third = await start(staff_runtime, "3", QUESTION)
    assert "gần giống" not in third.text and "Rác thải" not in third.text
    await send_named(third)
    assert await cluster_of(staff_runtime, receipt_in(third)) != await cluster_of(
        staff_runtime, receipt_in(other))


@pytest.mark.parametrize("command", ["/tuchoi {receipt} Nội dung không thuộc chủ đề đối thoại",
                                     "/khan {cluster}"])
async def test_a_rejected_or_urgent_relay_is_no_longer_offered(staff_runtime, command):
    leader = await relay(staff_runtime, QUESTION)
    receipt = receipt_in(leader)
    cluster = await cluster_of(staff_runtime, receipt)
    s = Member(staff_runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
    await s.send(command.format(receipt=receipt, cluster=cluster))
    member = await start(staff_runtime, "1", SAME)
    assert "gần giống" not in member.text
    await send_named(member)
    assert await cluster_of(staff_runtime, receipt_in(member)) != cluster
