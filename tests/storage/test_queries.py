"""storage/queries.py, called directly as the flows call it, on a fresh migrated database.

What she would notice: two questions never get the same receipt code; a platform's second
delivery is not a second message; after she deletes her data nothing in the database file
names her or holds her words; another member shown a similar question never sees a danger
disclosure, an urgent case, sensitive data or the words of a woman who deleted hers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from storage import queries as q

DIALOGUE = "lai-chau-2027"
NAME = "Lò Thị Phương Hoa"
PHONE = "0912345678"
WORDS = "Chồng em Lò Văn Pánh nợ tiền lô đề ở bản Phiêng, gọi em số 0912345678"


async def member(conn, now, external_id: str = "100", name: str = NAME) -> q.User:
    user = await q.ensure_user(conn, "telegram", external_id, external_id, name, now=now)
    await q.record_consent(conn, user.id, "v1", name, now=now)
    return user


async def ask(conn, now, user: q.User, text: str, cluster: int | None = None,
              **extra) -> tuple[int, int]:
    cluster = cluster or await q.create_cluster(conn, DIALOGUE, 1, now=now)
    receipt = await q.next_receipt(conn, DIALOGUE, "LC27")
    question = q.NewQuestion(DIALOGUE, user.id, "telegram", cluster,
                             q.Filing("member", "Xã Nậm Tăm", 1, text, False, **extra))
    return cluster, await q.insert_question(conn, question, receipt, now=now)


async def test_receipt_codes_never_repeat_and_count_per_dialogue(runtime):
    async with runtime.db.transaction() as conn:
        codes = [await q.next_receipt(conn, DIALOGUE, "LC27") for _ in range(30)]
        other = await q.next_receipt(conn, "dien-bien-2027", "DB27")
    async with runtime.db.transaction() as conn:  # a later transaction goes on counting
        codes.append(await q.next_receipt(conn, DIALOGUE, "LC27"))
    assert len(set(codes)) == 31
    assert codes[0] == "LC27-000001" and codes[-1] == "LC27-000031"
    assert other == "DB27-000001"


async def test_a_delivery_is_claimed_once_per_bot_within_the_redelivery_window(runtime, clock):
    async with runtime.db.transaction() as conn:
        assert await q.claim_update(conn, "telegram", "bot1", "42", now=clock())
        assert not await q.claim_update(conn, "telegram", "bot1", "42", now=clock())
        assert not await q.claim_update(conn, "telegram", "bot1", "42",
                                        now=clock() + dt.timedelta(days=1))
        assert await q.claim_update(conn, "telegram", "bot2", "42", now=clock())  # a new token
        assert await q.claim_update(conn, "zalo", "bot1", "42", now=clock())
        # Past the window the platform has restarted its ids: a new message.
        later = clock() + q.DELIVERY_RETENTION + dt.timedelta(days=1)
        assert await q.claim_update(conn, "telegram", "bot1", "42", now=later)
        assert not await q.claim_update(conn, "telegram", "bot1", "42", now=later)


async def test_delete_user_data_leaves_nothing_of_her(runtime, clock):
    async with runtime.db.transaction() as conn:
        her = await member(conn, clock())
        cluster, _ = await ask(conn, clock(), her, WORDS)
        await q.enqueue(conn, "telegram", her.chat_id, f"Chị {NAME} ơi, đã có trả lời",
                        "answer", now=clock())
        await q.save_conversation(conn, "telegram", her.chat_id, "ask:text",
                                  {"draft": WORDS}, [], now=clock())
        neighbour = await member(conn, clock(), "200", "Chị Mai")
        await ask(conn, clock(), neighbour, "Xin hỏi về vốn vay chăn nuôi", cluster)
    async with runtime.db.transaction() as conn:
        gone = await q.delete_user_data(conn, her.id, now=clock(), scrubbed="[đã xoá]")
    await runtime.db.checkpoint()
    assert gone.questions == 1
    base = Path(runtime.db.path)
    raw = b"".join(f.read_bytes() for f in (base, base.with_name(base.name + "-wal"))
                   if f.exists())
    for trace in (NAME, PHONE, "Pánh", "lô đề", "Phương Hoa"):
        assert trace.encode() not in raw, trace
    async with runtime.db.transaction() as conn:
        user = await q.user_by_id(conn, her.id)
        assert (user.display_name, user.chat_id, user.consented) == ("", "", False)
        assert await q.get_conversation(conn, "telegram", "100") is None
        assert await q.questions_of_user(conn, her.id) == []
        offer = await q.offer_of_cluster(conn, cluster, DIALOGUE)
    # The cluster still counts her and still shows the neighbour's question.
    assert (offer.text, offer.count) == ("Xin hỏi về vốn vay chăn nuôi", 2)


@pytest.mark.parametrize("extra", [{"danger": "bao_luc"}, {"urgent": True}])
async def test_a_cluster_holding_a_danger_disclosure_is_never_offered(runtime, clock, extra):
    async with runtime.db.transaction() as conn:
        cluster, _ = await ask(conn, clock(), await member(conn, clock()), "Em xin hỏi đường")
        await ask(conn, clock(), await member(conn, clock(), "200"), WORDS, cluster, **extra)
        assert await q.offer_of_cluster(conn, cluster, DIALOGUE) is None
        # Staff's own wording may be offered: it carries nothing of hers.
        if not extra.get("urgent"):
            await q.set_cluster_public_text(conn, cluster, "Hỗ trợ phụ nữ bị bạo lực")
            offer = await q.offer_of_cluster(conn, cluster, DIALOGUE)
            assert (offer.text, offer.approved) == ("Hỗ trợ phụ nữ bị bạo lực", True)


async def test_an_offer_shows_the_first_shareable_question_and_names_its_asker(runtime, clock):
    async with runtime.db.transaction() as conn:
        first = await member(conn, clock())
        cluster, qid = await ask(conn, clock(), first, "Em bị bệnh, xin hỏi thẻ bảo hiểm")
        await conn.execute("UPDATE questions SET sensitive = 'health' WHERE id = ?", (qid,))
        await ask(conn, clock(), await member(conn, clock(), "200", "Chị Mai"),
                  "Xin hỏi thẻ bảo hiểm y tế cho trẻ", cluster)
        offer = await q.offer_of_cluster(conn, cluster, DIALOGUE)
        # Masked by the caller: the asker's name comes with it so it can be masked too.
        assert (offer.text, offer.approved, offer.asker_name, offer.count) == (
            "Xin hỏi thẻ bảo hiểm y tế cho trẻ", False, "Chị Mai", 2)
        assert await q.offer_of_cluster(conn, cluster, "dien-bien-2027") is None
