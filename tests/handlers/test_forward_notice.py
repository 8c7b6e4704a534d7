"""Issue 16: when staff forward a cluster (chat /chuyen), each asker, supporter and relaying
leader hears once, in her own channel, which lead department and by when; across a restart,
an identical second forward tells nobody, a new deadline tells once more, one who joins later
hears it when she joins, and a cluster holding a danger disclosure tells nothing."""

from __future__ import annotations

from bot.runtime import open_runtime
from tests.fakes.staff_round import (
    LOAN,
    LOAN_TYPED,
    WATER,
    ask,
    cluster_of,
    notices,
    relay,
    staff,
    support,
)

HEALTH = "Sở Y tế"  # department 4 of the test dialogue


async def test_forward_tells_each_asker_supporter_and_leader_once(staff_config, clock, tmp_path):
    path = tmp_path / "staff.db"
    runtime = await open_runtime(staff_config, path, clock=clock)
    try:
        asker = await ask(runtime, "21", LOAN)
        cluster = await cluster_of(runtime, asker)
        await support(runtime, "22", LOAN_TYPED)
        relayed = await relay(runtime, WATER)
        s = staff(runtime)
        await s.send(f"/gop {await cluster_of(runtime, relayed)} {cluster}")
        await s.send(f"/chuyen {cluster} 4 20/07/2027 2,3")
        for chat in ("21", "22", "chi-hoi"):
            [text] = await notices(runtime, chat)
            assert f"tới {HEALTH}; hạn trả lời: 20/07/2027" in text
            assert "Hội đã chuyển câu hỏi của chị (mã " in text
        [mine] = await notices(runtime, "21")
        assert asker in mine
        assert LOAN not in mine and WATER not in mine  # nobody's words, her own neither
    finally:
        await runtime.close()

    again = await open_runtime(staff_config, path, clock=clock)  # a restart on the same file
    try:
        s = staff(again)
        await s.send(f"/chuyen {cluster} 4 20/07/2027 2,3")  # the same forward again
        for chat in ("21", "22", "chi-hoi"):
            assert len(await notices(again, chat)) == 1
        late = await support(again, "23", LOAN_TYPED)  # joins after the forward
        assert late.text
        [joined] = await notices(again, "23")
        assert f"{HEALTH}; hạn trả lời: 20/07/2027" in joined
        await s.send(f"/chuyen {cluster} 4 22/07/2027")  # the deadline moved: told once more
        await s.send(f"/chuyen {cluster} 4 22/07/2027")
        for chat in ("21", "22", "chi-hoi", "23"):
            texts = await notices(again, chat)
            assert len(texts) == 2 and "22/07/2027" in texts[-1]
    finally:
        await again.close()


async def test_an_urgent_cluster_is_forwarded_without_telling(staff_runtime):
    cluster = await cluster_of(staff_runtime, await ask(staff_runtime, "21", LOAN))
    s = staff(staff_runtime)
    await s.send(f"/khan {cluster}")
    await s.send(f"/noidung {cluster} Vay vốn chăn nuôi cho hội viên")  # required when urgent
    await s.send(f"/chuyen {cluster} 4 20/07/2027")
    assert "Chủ trì: Sở Y tế" in s.text
    assert await notices(staff_runtime, "21") == []


async def test_questions_merged_in_after_the_forward_hear_it_once(staff_runtime):
    cluster = await cluster_of(staff_runtime, await ask(staff_runtime, "21", LOAN))
    s = staff(staff_runtime)
    await s.send(f"/chuyen {cluster} 4 20/07/2027")
    relayed = await cluster_of(staff_runtime, await relay(staff_runtime, WATER))
    assert await notices(staff_runtime, "chi-hoi") == []
    await s.send(f"/gop {relayed} {cluster}")
    [text] = await notices(staff_runtime, "chi-hoi")
    assert f"tới {HEALTH}; hạn trả lời: 20/07/2027" in text
    assert len(await notices(staff_runtime, "21")) == 1
