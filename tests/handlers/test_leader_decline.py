"""Red-team attacks on a commune leader's consent and on what danger alerts say (redteam.md,
promises 2, 5 and 6): a leader who declines is no leader; a leader or staff alert says only
what was really queued or stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.runtime import open_runtime
from storage import dedupe
from tests.chat import Member
from tests.conftest import ROOT, STAFF_GROUP, STAFF_TELEGRAM_ID
from tests.fakes.her_words import Person

LEADER_ID = "7770042"  # her Telegram user id: the needle in the raw bytes
DANGER = "Chồng em đánh em chảy máu, em sợ lắm, em không dám về nhà"


def _config(tmp_path: Path, staff_chat: str, texts_in_chat: bool):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace("staff_ids = []\nstaff_chat_id = 0",
                        f"staff_ids = [{STAFF_TELEGRAM_ID}]\nstaff_chat_id = {staff_chat}", 1)
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    if texts_in_chat:
        text = text.replace("\ntexts_in_chat = false", "\ntexts_in_chat = true", 1)
    path = tmp_path / f"c-{staff_chat}-{texts_in_chat}.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


@pytest.fixture
async def no_staff_chat(tmp_path, clock):
    """Staff may type commands, but no staff group exists (like the demo config)."""
    rt = await open_runtime(_config(tmp_path, "0", True), tmp_path / "nostaff.db", clock=clock)
    yield rt
    await rt.close()


@pytest.fixture
async def console_only(tmp_path, clock):
    """The shipped default: her words never go into the staff group, only the console."""
    rt = await open_runtime(_config(tmp_path, STAFF_GROUP, False), tmp_path / "console.db",
                            clock=clock)
    yield rt
    await rt.close()


async def invite(runtime) -> str:
    staff = Member(runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
    await staff.send("/moi_can_bo nam tam")
    return next(w for w in staff.text.split() if w.startswith("CB-"))


async def member_in_danger(runtime, user: str) -> Member:
    member = Member(runtime, user=user)
    for line in ("/start", "1", "nam tam", DANGER):
        await member.send(line)
    assert "111" in member.text  # the hotlines
    return member


async def outbox_to(runtime, chat_id: str) -> list[dict]:
    async with runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT purpose, text, dedupe_key FROM outbox WHERE chat_id = ?", (chat_id,))
    return [dict(r) for r in rows]


async def test_a_leader_who_declines_is_no_leader_and_nothing_of_her_is_kept(staff_runtime):
    code = await invite(staff_runtime)
    leader = Person(staff_runtime, LEADER_ID, "Lò Thị Chi Hội")
    await leader.send(f"/can_bo {code}")
    assert "đồng ý" in leader.text
    await leader.send("2")
    said = leader.text
    assert "nguy hiểm" not in said and "đã được chuyển" not in said  # she reported nothing
    assert "không lưu" in said
    # her row and her id are gone from the rows and from the raw bytes (db and WAL)
    async with staff_runtime.db.transaction() as conn:
        users = await conn.execute_fetchall(
            "SELECT * FROM users WHERE external_id = ? OR chat_id = ?", (LEADER_ID, LEADER_ID))
        invites = await conn.execute_fetchall("SELECT used_by, used_at FROM leader_invites")
    assert users == []
    assert [(r["used_by"], bool(r["used_at"])) for r in invites] == [(None, True)]
    db_file = Path(staff_runtime.db.path)
    for path in (db_file, db_file.with_name(db_file.name + "-wal")):
        if path.exists():
            assert LEADER_ID.encode() not in path.read_bytes(), path.name
    await leader.send("/xa_toi")
    assert "dành cho cán bộ" in leader.text  # not a leader
    await member_in_danger(staff_runtime, "m-nam-tam")
    assert await outbox_to(staff_runtime, LEADER_ID) == []  # no alert about her commune
    # the code she declined stays spent: nobody else becomes a leader with it
    other = Member(staff_runtime, user="301", channel="telegram")
    await other.send(f"/can_bo {code}")
    assert "Xã Nậm Tăm" not in other.text


async def test_a_leader_who_has_not_yet_agreed_gets_no_danger_alerts(staff_runtime):
    code = await invite(staff_runtime)
    leader = Person(staff_runtime, LEADER_ID, "Lò Thị Chi Hội")
    await leader.send(f"/can_bo {code}")  # consent asked, not answered
    await member_in_danger(staff_runtime, "m-nam-tam")
    assert await outbox_to(staff_runtime, LEADER_ID) == []
    await leader.send("1")  # she agrees: from now on she is told
    await member_in_danger(staff_runtime, "m2-nam-tam")
    [alert] = await outbox_to(staff_runtime, LEADER_ID)
    assert alert["purpose"] == "danger_commune"


async def test_leader_alert_says_staff_are_on_it_only_when_staff_were_alerted(no_staff_chat,
                                                                             staff_runtime):
    for runtime, staff_told in ((no_staff_chat, False), (staff_runtime, True)):
        code = await invite(runtime)
        leader = Person(runtime, LEADER_ID, "Lò Thị Chi Hội")
        await leader.send(f"/can_bo {code}")
        await leader.send("1")
        member = await member_in_danger(runtime, "m-nam-tam")
        [alert] = await outbox_to(runtime, LEADER_ID)
        async with runtime.db.transaction() as conn:
            staff_rows = await conn.execute_fetchall(
                "SELECT 1 FROM outbox WHERE purpose = 'danger'")
        assert bool(staff_rows) is staff_told
        assert ("được gửi cùng lúc tới cán bộ Hội LHPN tỉnh" in alert["text"]) is staff_told
        assert ("CHƯA báo được cho cán bộ Hội LHPN tỉnh" in alert["text"]) is not staff_told
        if not staff_told:  # and she and her leader are told the same thing
            assert "chưa chuyển được tin của chị tới cán bộ Hội LHPN tỉnh" in member.text
            assert "Hội đã báo cho cán bộ Hội LHPN tỉnh" not in member.text


async def test_staff_alert_on_danger_at_the_consent_prompt_says_her_words_were_not_stored(
        console_only):
    her = Person(console_only, "5800123400", "Vàng Thị Dung")
    await her.send("/start")
    await her.send(DANGER)  # at the consent prompt: she has agreed to nothing
    async with console_only.db.transaction() as conn:
        [alert] = await conn.execute_fetchall(
            "SELECT text FROM outbox WHERE purpose = 'danger'")
        questions = await conn.execute_fetchall("SELECT 1 FROM questions")
    assert questions == []  # nothing for a safety officer to read on the console
    assert "xem trên bảng điều hành" not in alert["text"]
    assert "KHÔNG được lưu" in alert["text"] and "/nhan U" in alert["text"]
    # control: a consented member's disclosure is stored and the console shows it
    await member_in_danger(console_only, "m-consented")
    async with console_only.db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT text FROM outbox WHERE purpose = 'danger' ORDER BY id")
    assert "xem trên bảng điều hành" in rows[-1]["text"]


async def test_a_leaders_id_is_in_no_dedupe_key_and_gone_after_her_deletion(staff_runtime,
                                                                             tmp_path):
    """redteam.md promise 4: `danger-commune:DEMO-000044:terminal:L4` kept her chat id after
    /xoa_du_lieu, in the database and in a backup made afterwards."""
    runtime = staff_runtime
    code = await invite(runtime)
    leader = Person(runtime, LEADER_ID, "Lò Thị Chi Hội")
    await leader.send(f"/can_bo {code}")
    await leader.send("1")
    for n in range(3):
        await member_in_danger(runtime, f"m{n}-nam-tam")
    alerts = await outbox_to(runtime, LEADER_ID)
    assert len(alerts) == 3  # the attack can fail: she was alerted, three times, once each
    assert all(LEADER_ID not in (a["dedupe_key"] or "") for a in alerts)
    async with runtime.db.transaction() as conn:
        keys = [r[0] for r in await conn.execute_fetchall(
            "SELECT dedupe_key FROM outbox WHERE dedupe_key IS NOT NULL")]
    assert keys and not [k for k in keys if LEADER_ID in k]
    async with runtime.db.transaction() as conn:  # a key of the old shape, as before 0016
        await conn.execute("UPDATE outbox SET dedupe_key = ? WHERE chat_id = ? AND id = "
                           "(SELECT min(id) FROM outbox WHERE chat_id = ?)",
                           (f"danger-commune:DEMO-000044:telegram:{LEADER_ID}", LEADER_ID,
                            LEADER_ID))
    await drain_telegram(runtime)  # delivered: the rows stay, as sent
    await leader.send("/xoa_du_lieu")
    await leader.press("Xóa thông tin")
    assert "Đã xóa" in leader.text
    async with runtime.db.transaction() as conn:  # not even her keyed hash is left
        token = await dedupe.recipient_token(conn, "telegram", LEADER_ID)
        left = await conn.execute_fetchall(
            "SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE ?", (f"%{token}%",))
    assert left == []
    backup = tmp_path / "after.db"
    await runtime.db.backup(backup)
    db_file = Path(runtime.db.path)
    for path in (db_file, db_file.with_name(db_file.name + "-wal"), backup):
        if path.exists():
            assert LEADER_ID.encode() not in path.read_bytes(), path.name


async def drain_telegram(runtime) -> None:
    from tests.fakes.her_words import drain

    await drain(runtime)


async def test_a_visitor_or_leader_who_never_answers_is_gone_after_the_retention_window(
        staff_runtime, clock):
    """redteam.md promise 5: `/start` alone stores her ids before any consent. While she is at
    the consent prompt the row holds her conversation; when she leaves without answering, the
    hourly retention pass removes it after the drafts window, a redeemed-but-unanswered leader
    code included (it used to keep her row, with her commune, for ever)."""
    import datetime as dt

    from storage import queries as q

    code = await invite(staff_runtime)
    visitor = Person(staff_runtime, "5800999001", "Lò Thị Khách")
    await visitor.send("/start")
    leader = Person(staff_runtime, LEADER_ID, "Lò Thị Chi Hội")
    await leader.send(f"/can_bo {code}")
    clock.now += dt.timedelta(days=31)
    async with staff_runtime.db.transaction() as conn:
        await q.prune_stale(conn, now=clock())
        rows = await conn.execute_fetchall(
            "SELECT external_id FROM users WHERE external_id IN (?, ?)",
            ("5800999001", LEADER_ID))
        [invite_row] = await conn.execute_fetchall("SELECT used_by, used_at FROM leader_invites")
    assert rows == []
    assert invite_row["used_by"] is None and invite_row["used_at"]  # spent, without her
