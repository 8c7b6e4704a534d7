"""storage/attachments.py on a fresh migrated database: a kept voice message goes whenever its
question loses the voice link (purge, a withdrawn sensitive-data consent, a declined one), and
audio fetched while her data was being deleted is never kept; a PDF goes with its answer."""

from __future__ import annotations

import datetime as dt

from storage import attachments as files
from storage import console as store
from storage import lifecycle as lc
from storage import queries as q

from .test_queries import DIALOGUE, ask, member

LINK = "telegram-file:FILE1"
AUDIO = b"OggS voice of hers"


async def _voice_question(conn, now) -> int:
    her = await member(conn, now)
    _, question = await ask(conn, now, her, "", voice_url=LINK)
    assert await files.keep_voice(conn, question, LINK, "audio/ogg", AUDIO, now=now)
    assert (await files.stored_voice(conn, question, LINK)) == files.Voice("audio/ogg", AUDIO)
    return question


async def _kept(conn) -> int:
    return len(await conn.execute_fetchall("SELECT 1 FROM voice_files"))


async def test_a_purge_removes_the_kept_audio(runtime, clock):
    async with runtime.db.transaction() as conn:
        await _voice_question(conn, clock())
        await q.purge_dialogue(conn, DIALOGUE, now=clock())
        assert await _kept(conn) == 0


async def test_a_withdrawn_consent_removes_the_kept_audio(runtime, clock):
    async with runtime.db.transaction() as conn:
        question = await _voice_question(conn, clock())
        user = await q.user_by_external_id(conn, "telegram", "100")
        assert user is not None
        await q.withdraw_sensitive_consent(conn, user.id, [question], now=clock())
        assert await _kept(conn) == 0


async def test_a_declined_consent_removes_the_kept_audio(runtime, clock):
    async with runtime.db.transaction() as conn:
        question = await _voice_question(conn, clock())
        await q.erase_question_text(conn, question)
        assert await _kept(conn) == 0
        assert await files.voice_source(conn, question) is None


async def test_audio_arriving_after_her_deletion_is_not_kept(runtime, clock):
    async with runtime.db.transaction() as conn:
        her = await member(conn, clock())
        _, question = await ask(conn, clock(), her, "", voice_url=LINK)
        source = await files.voice_source(conn, question)
        assert source is not None and source.voice_url == LINK
        await q.delete_user_data(conn, her.id, now=clock())  # while the fetch was under way
        assert not await files.keep_voice(conn, question, LINK, "audio/ogg", AUDIO, now=clock())
        assert await _kept(conn) == 0


async def test_a_pdf_goes_with_its_answer(runtime, config, clock):
    taichinh = config.settings.department("so-tai-chinh")
    async with runtime.db.transaction() as conn:
        cluster = await q.create_cluster(conn, DIALOGUE, 1, now=clock())
        await lc.forward_cluster(conn, config.settings.dialogue(DIALOGUE), cluster,
                                 lc.Assignment(taichinh, dt.date(2027, 7, 20)), by="staff",
                                 now=clock(), today=clock().date())
        answer = await store.submit_department_answer(conn, cluster, taichinh,
                                                      "Câu trả lời", "taichinh", now=clock())
        pdf = await files.attach_pdf(conn, answer, cluster, "so-tai-chinh", "a.pdf",
                                     b"%PDF-1.4", now=clock())
        assert (await files.attachment_of_answer(conn, answer)).id == pdf
        await conn.execute("DELETE FROM department_answers WHERE id = ?", (answer,))
        assert await files.attachment_of_answer(conn, answer) is None
        assert await files.pdf_content(conn, pdf) is None
