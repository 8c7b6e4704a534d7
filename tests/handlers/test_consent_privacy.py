"""Attack: a woman declines consent; then the database (rows and raw bytes) is searched for her.

She was told "Hội không lưu gì cả": no users row with her id or display name, no conversation
with a draft she typed, nothing in the database file or its WAL.
"""

from __future__ import annotations

from pathlib import Path

from tests.fakes.her_words import Person, leaks

HER_ID = "5800123479"
DISPLAY = "Vàng Thị Dung"
DRAFT = "Em ở bản Khuổi Phạc muốn hỏi vay vốn ưu đãi chăn nuôi, gọi em 0987654321"


async def rows_about_her(runtime) -> list:
    async with runtime.db.transaction() as conn:
        users = await conn.execute_fetchall(
            "SELECT * FROM users WHERE external_id = ? OR chat_id = ? OR display_name = ?",
            (HER_ID, HER_ID, DISPLAY))
        chats = await conn.execute_fetchall(
            "SELECT * FROM conversations WHERE chat_id = ? OR data LIKE ?",
            (HER_ID, "%Khuổi%"))
    return [dict(r) for r in (*users, *chats)]


async def test_declining_stores_nothing_that_identifies_her(staff_runtime):
    her = Person(staff_runtime, HER_ID, DISPLAY)
    await her.send(DRAFT)  # she types her question straight away, before any consent
    assert "đồng ý" in her.text.lower()
    await her.press("Không đồng ý")
    assert "không lưu gì" in her.text
    assert await rows_about_her(staff_runtime) == []
    db_file = Path(staff_runtime.db.path)
    assert leaks(db_file, db_file.with_name(db_file.name + "-wal")) == []


async def test_after_declining_her_later_commands_store_nothing_either(staff_runtime):
    # Red-team pass 3: /cua_toi, /help or /id after "Không đồng ý" stored a users row with her
    # Telegram id (kept until the 30-day sweep), though she had been told nothing was kept.
    her = Person(staff_runtime, HER_ID, DISPLAY)
    await her.send("/start")
    await her.press("Không đồng ý")
    for command in ("/cua_toi", "/help", "/id", "/xa_toi", "/xoa_du_lieu"):
        await her.send(command)
        assert her.text, command  # she is still answered
        assert await rows_about_her(staff_runtime) == [], command
    db_file = Path(staff_runtime.db.path)
    assert leaks(db_file, db_file.with_name(db_file.name + "-wal")) == []
    stranger = Person(staff_runtime, "5800999999", "Lò Thị Xuân")  # never wrote before
    await stranger.send("/id")
    assert "5800999999" in stranger.text
    assert leaks(db_file, db_file.with_name(db_file.name + "-wal")) == []


async def test_she_can_still_agree_later(staff_runtime):
    her = Person(staff_runtime, HER_ID, DISPLAY)
    await her.send("/start")
    await her.press("Không đồng ý")
    await her.send("/start")
    await her.press("Tôi đồng ý")
    assert "xã/phường nào" in her.text
    async with staff_runtime.db.transaction() as conn:
        [user] = await conn.execute_fetchall(
            "SELECT display_name, consent_at FROM users WHERE external_id = ?", (HER_ID,))
    assert user["consent_at"] and user["display_name"] == DISPLAY


async def test_a_visitor_who_has_not_decided_is_stored_without_her_name(staff_runtime):
    her = Person(staff_runtime, HER_ID, DISPLAY)
    await her.send("/start")
    async with staff_runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT display_name FROM users WHERE external_id = ?", (HER_ID,))
    assert [r["display_name"] for r in rows] == [""]


async def test_a_woman_in_danger_who_declines_can_still_be_reached_by_staff(staff_runtime):
    """Her safety first: staff were alerted with "U<id>"; declining keeps that reference hers
    (without her name), so a staff message never reaches a newcomer given a reused id."""
    her = Person(staff_runtime, HER_ID, DISPLAY)
    await her.send("Chồng em đánh em chảy máu, em sợ lắm, em không dám về nhà")
    assert "111" in her.text
    await her.press("Gửi câu hỏi cho Hội")  # the calm choice after a disclosure: go on
    await her.press("Không đồng ý")
    assert "không lưu gì cả" not in her.text and "đã được chuyển cho cán bộ" in her.text
    async with staff_runtime.db.transaction() as conn:
        [alert] = await conn.execute_fetchall(
            "SELECT text FROM outbox WHERE purpose = 'danger' LIMIT 1")
        [user] = await conn.execute_fetchall(
            "SELECT id, display_name FROM users WHERE external_id = ?", (HER_ID,))
    assert user["display_name"] == ""
    reference = f"U{user['id']}"
    assert reference in alert["text"]
    newcomer = Person(staff_runtime, "5800777777", "Lò Thị Mai")
    await newcomer.send("/start")
    staff = Person(staff_runtime, "900", "Cán bộ")
    await staff.send(f"/nhan {reference} Hội đã nhận tin, chị gọi 1900 969 680 nhé")
    async with staff_runtime.db.transaction() as conn:
        [sent] = await conn.execute_fetchall(
            "SELECT chat_id FROM outbox WHERE purpose = 'staff_message'")
    assert sent["chat_id"] == HER_ID
