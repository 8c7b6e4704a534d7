"""Before storing, a member is offered similar questions and can support one instead."""

from __future__ import annotations

from storage import reports
from tests.chat import Member


async def ask_until_question(runtime, user: str, question: str, topic: str = "1") -> Member:
    m = Member(runtime, user=user, channel="telegram")
    for line in ("/start", "1", "nam tam", topic):
        await m.send(line)
    await m.send(question)
    return m


async def clusters(runtime) -> list[reports.ClusterSummary]:
    async with runtime.db.transaction() as conn:
        return await reports.clusters_of_dialogue(conn, "lai-chau-2027")


async def test_support_an_existing_question(staff_runtime):
    first = await ask_until_question(
        staff_runtime, "1", "Chị em muốn vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào")
    await first.send("1")
    await first.send("1")
    second = await ask_until_question(staff_runtime, "2", "vay von uu dai chan nuoi bo sinh san "
                                                          "lam the nao a")
    assert "Đã có chị em hỏi câu gần giống" in second.text
    assert "1 người đã hỏi" in second.text
    await second.press("Ủng hộ câu 1")
    assert "LC27-000002" in second.text and "ủng hộ" in second.text
    [cluster] = await clusters(staff_runtime)
    assert cluster.direct == 2
    await second.send("/cua_toi")
    assert "chị ủng hộ câu hỏi này" in second.text
    # staff have not worded it: the topic, not the other woman's words
    assert "Câu hỏi chung về chủ đề" in second.text and "vay vốn ưu đãi" not in second.text


async def test_mine_differs_is_stored_as_a_new_question(staff_runtime):
    first = await ask_until_question(
        staff_runtime, "1", "Chị em muốn vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào")
    await first.send("1")
    await first.send("1")
    second = await ask_until_question(staff_runtime, "2", "vay von uu dai chan nuoi bo sinh san "
                                                          "lam the nao a")
    await second.press("Câu của tôi khác")
    await second.send("1")
    await second.send("1")
    assert "LC27-000002" in second.text
    assert len(await clusters(staff_runtime)) == 2


async def test_nothing_similar_means_no_extra_step(staff_runtime):
    first = await ask_until_question(
        staff_runtime, "1", "Chị em muốn vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào")
    await first.send("1")
    await first.send("1")
    other = await ask_until_question(staff_runtime, "3", "Rác thải ở suối đầu bản không ai thu "
                                                         "gom, bốc mùi", topic="2")
    assert "gần giống" not in other.text and "ghi tên" in other.text


async def test_identical_question_joins_the_cluster_after_a_restart(staff_config, clock,
                                                                     tmp_path):
    from bot.runtime import open_runtime

    db = tmp_path / "m.db"
    runtime = await open_runtime(staff_config, db, clock=clock)
    first = await ask_until_question(runtime, "1", "Xin hỏi về hỗ trợ học nghề may cho chị em")
    await first.send("1")
    await first.send("1")
    await runtime.close()
    runtime = await open_runtime(staff_config, db, clock=clock)  # the index is rebuilt
    try:
        second = await ask_until_question(runtime, "2", "xin hoi ve ho tro hoc nghe may cho chi "
                                                        "em")
        assert "gần giống" in second.text
    finally:
        await runtime.close()
