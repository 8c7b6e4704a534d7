"""The matcher follows every change at once: what staff and members do changes what later
questions are offered and join, without a restart (and a restart agrees)."""

from __future__ import annotations

from bot.runtime import open_runtime
from tests.chat import Member
from tests.conftest import STAFF_TELEGRAM_ID

QUESTION = "Chị em muốn vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào"
SAME = "chi em muon vay von uu dai de chan nuoi bo sinh san thi lam the nao a"
OTHER = "Rác thải ở suối đầu bản không ai thu gom, bốc mùi"


async def ask(runtime, user: str, question: str, topic: str = "1",
              support: bool = False) -> tuple[Member, bool]:
    """Ask through the member flow; (member, whether a similar question was offered). When
    offered, she supports the first offer (`support`) or says hers differs (then it is stored
    on its own)."""
    m = Member(runtime, user=user, channel="telegram")
    for line in ("/start", "1", "nam tam", topic, question):
        await m.send(line)
    offered = "gần giống" in m.text
    if offered and support:
        await m.press("Ủng hộ câu 1")
        assert "LC27-" in m.text
        return m, offered
    if offered:
        await m.press("Câu của tôi khác")
    await m.send("2")
    await m.send("1")
    assert "LC27-" in m.text
    return m, offered


def receipt_of(m: Member) -> str:
    return next(w for w in m.text.split() if w.startswith("LC27-"))


async def cluster_of(runtime, receipt: str) -> int:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT cluster_id FROM questions WHERE receipt = ?", (receipt,))
        return (await cur.fetchone())[0]


def staff(runtime) -> Member:
    return Member(runtime, user=STAFF_TELEGRAM_ID, channel="telegram")


async def test_a_question_like_a_stored_one_is_offered_and_joins(staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    m = Member(staff_runtime, user="2", channel="telegram")
    for line in ("/start", "1", "nam tam", "1", SAME):
        await m.send(line)
    assert "gần giống" in m.text
    await m.press("Câu của tôi khác")  # she thinks it differs: stored, but in the same cluster?
    await m.send("2")
    await m.send("1")
    # She declined that cluster, so hers is kept apart.
    assert await cluster_of(staff_runtime, receipt_of(m)) != await cluster_of(
        staff_runtime, receipt_of(first))


async def test_a_rejected_question_no_longer_attracts_others(staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    s = staff(staff_runtime)
    await s.send(f"/tuchoi {receipt_of(first)} Nội dung không thuộc chủ đề đối thoại")
    second, offered = await ask(staff_runtime, "2", SAME)
    assert not offered
    assert await cluster_of(staff_runtime, receipt_of(second)) != await cluster_of(
        staff_runtime, receipt_of(first))


async def test_a_rejected_cluster_is_neither_offered_nor_joined(staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    cluster = await cluster_of(staff_runtime, receipt_of(first))
    s = staff(staff_runtime)
    await s.send(f"/tuchoi {cluster} Nội dung không thuộc chủ đề đối thoại")
    second, offered = await ask(staff_runtime, "2", SAME)
    assert not offered
    assert await cluster_of(staff_runtime, receipt_of(second)) != cluster


async def test_deleted_words_no_longer_attract_others(staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    cluster = await cluster_of(staff_runtime, receipt_of(first))
    await first.send("/xoa_du_lieu")
    await first.press("Xóa thông tin")
    assert "Đã xóa" in first.text
    second = Member(staff_runtime, user="2", channel="telegram")
    for line in ("/start", "1", "nam tam", "1", SAME):
        await second.send(line)
    assert "gần giống" not in second.text
    await second.send("2")
    await second.send("1")
    # Before, her erased question still pulled the next one into her cluster.
    assert await cluster_of(staff_runtime, receipt_of(second)) != cluster


async def test_an_urgent_cluster_is_not_offered_until_the_mark_is_taken_off(staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    cluster = await cluster_of(staff_runtime, receipt_of(first))
    s = staff(staff_runtime)
    await s.send(f"/khan {cluster}")
    assert "KHẨN" in s.text
    second, offered = await ask(staff_runtime, "2", SAME)
    assert not offered  # an urgent cluster may hold a danger disclosure: never shown
    assert await cluster_of(staff_runtime, receipt_of(second)) != cluster
    await s.send(f"/khan {cluster}")
    assert "bỏ đánh dấu khẩn" in s.text
    third = Member(staff_runtime, user="3", channel="telegram")
    for line in ("/start", "1", "nam tam", "1", QUESTION):
        await third.send(line)
    assert "gần giống" in third.text


async def test_after_a_merge_later_questions_join_the_merged_cluster_also_after_restart(
        staff_config, clock, tmp_path):
    db = tmp_path / "m.db"
    runtime = await open_runtime(staff_config, db, clock=clock)
    try:
        first, _ = await ask(runtime, "1", QUESTION)
        second, _ = await ask(runtime, "2", OTHER, topic="2")
        target = await cluster_of(runtime, receipt_of(first))
        source = await cluster_of(runtime, receipt_of(second))
        s = staff(runtime)
        await s.send(f"/gop {source} {target}")
        assert "Đã gộp" in s.text
        third, offered = await ask(runtime, "3", OTHER, topic="2", support=True)
        assert offered
        assert await cluster_of(runtime, receipt_of(third)) == target
    finally:
        await runtime.close()
    runtime = await open_runtime(staff_config, db, clock=clock)  # rebuilt from storage
    try:
        fourth, offered = await ask(runtime, "4", OTHER, topic="2", support=True)
        assert offered
        assert await cluster_of(runtime, receipt_of(fourth)) == target
    finally:
        await runtime.close()


async def test_after_a_split_the_split_wording_attracts_its_own_cluster(staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    cluster = await cluster_of(staff_runtime, receipt_of(first))
    s = staff(staff_runtime)
    await s.send(f"/tach {receipt_of(first)}")
    assert "Đã tách" in s.text
    new_cluster = await cluster_of(staff_runtime, receipt_of(first))
    assert new_cluster != cluster
    second, offered = await ask(staff_runtime, "2", QUESTION, support=True)
    assert offered
    assert await cluster_of(staff_runtime, receipt_of(second)) == new_cluster


# A question just below the joining bar for QUESTION (bot.matching review_threshold): the same
# loan, but she asks WHEN, not how, so it may not join without staff.
NEAR = "bao giờ ngân hàng cho vay nuôi bò"


async def test_staff_merge_a_possible_duplicate_in_one_press(staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    second, offered = await ask(staff_runtime, "2", NEAR)
    assert offered  # she saw it and said hers differs: kept apart, and staff are asked
    old = await cluster_of(staff_runtime, receipt_of(first))
    new = await cluster_of(staff_runtime, receipt_of(second))
    assert old != new
    member = Member(staff_runtime, user="3", channel="telegram")
    await member.send("/trung")
    assert "chỉ dành cho cán bộ" in member.text
    s = staff(staff_runtime)
    await s.send("/trung")
    assert f"#{new}" in s.text and f"#{old}" in s.text and "cho vay nuôi bò" in s.text
    merge = next(o.action for o in s.last.options if f"Gộp #{new} vào #{old}" in o.label)
    await member.action(merge)  # a forged press by a member
    assert "chỉ dành cho cán bộ" in member.text
    assert await cluster_of(staff_runtime, receipt_of(second)) == new
    await s.action(merge)
    assert "Đã gộp" in s.text
    assert await cluster_of(staff_runtime, receipt_of(second)) == old
    await s.send("/trung")
    assert "không có cặp cụm nào" in s.text
    await s.action(merge)
    assert "đã được xử lý" in s.text  # the same button again changes nothing


async def test_staff_keep_a_possible_duplicate_apart_and_it_is_not_proposed_again(
        staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    second, _ = await ask(staff_runtime, "2", NEAR)
    s = staff(staff_runtime)
    await s.send("/trung")
    await s.press("Khác nhau")
    assert "giữ riêng" in s.text
    await s.send("/trung")
    assert "không có cặp cụm nào" in s.text
    assert await cluster_of(staff_runtime, receipt_of(second)) != await cluster_of(
        staff_runtime, receipt_of(first))


async def test_a_danger_disclosure_is_never_offered_to_another_member(staff_runtime):
    victim = Member(staff_runtime, user="d1", channel="telegram")
    for line in ("/start", "1", "nam tam", "4", "ck e say ruou ve la danh e, e so lam",
                 "1", "2", "1", "1"):  # go on after the disclosure, anonymous, send, consent
        await victim.send(line)
    assert "LC27-000001" in victim.text
    other = Member(staff_runtime, user="d2", channel="telegram")
    for line in ("/start", "1", "nam tam", "4", "chồng em say rượu về là gây chuyện cả tối"):
        await other.send(line)
    seen = " ".join(r.text for r in other.replies)
    assert "gần giống" not in seen and "danh e" not in seen


async def test_a_leaders_relay_near_a_question_goes_to_staffs_list(staff_runtime):
    first, _ = await ask(staff_runtime, "1", QUESTION)
    leader = Member(staff_runtime, user="chi-hoi")  # configured in [[leaders]]
    await leader.send("/chi_hoi")
    await leader.send("1")  # consent
    for line in ("1", NEAR, "30"):
        await leader.send(line)
    await leader.press("Bỏ qua")
    assert "thay mặt 30" in leader.text
    s = staff(staff_runtime)
    await s.send("/trung")
    old = await cluster_of(staff_runtime, receipt_of(first))
    assert f"#{old}" in s.text and "cho vay nuôi bò" in s.text


async def test_staff_can_type_the_number_of_a_button(staff_runtime):
    """Zalo and the terminal show buttons as a numbered list: "1" is the merge button."""
    first, _ = await ask(staff_runtime, "1", QUESTION)
    second, _ = await ask(staff_runtime, "2", NEAR)
    s = staff(staff_runtime)
    await s.send("/trung")
    await s.send("1")
    assert "Đã gộp" in s.text
    assert await cluster_of(staff_runtime, receipt_of(second)) == await cluster_of(
        staff_runtime, receipt_of(first))


async def test_on_a_new_deployment_the_second_woman_is_offered_the_first_concern_in_her_words(
        staff_runtime):
    """With one question stored, every word of hers the index has not seen weighed nearly five
    times a shared one (IDF against one entry), so her own wording of the same loan was a
    stranger: not offered, not joined. IDF is now taken against at least 100 entries."""
    first, _ = await ask(staff_runtime, "1", "lai suat vay ngan hang cao qua chi em ko dam vay")
    second, offered = await ask(staff_runtime, "2", "lãi vay nặng quá, mong được giảm lãi",
                                support=True)
    assert offered
    assert await cluster_of(staff_runtime, receipt_of(second)) == await cluster_of(
        staff_runtime, receipt_of(first))
