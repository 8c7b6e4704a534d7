"""Attack: after /xoa_du_lieu, and after `purge`, grep the raw bytes of the database file, its
-wal and a backup made afterwards for her phone, her name, her ids and a word of her text.

Before she deletes, her words have been copied everywhere the bot copies them: a danger alert
and a digest for staff (sent), a message from staff to her (sent) and one not yet sent, another
member's saved conversation (an offer of her question), and the WAL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from bot.cli import main
from bot.runtime import open_runtime
from storage import queries as q
from tests.conftest import Clock
from tests.fakes.her_words import (
    HER_ID,
    Person,
    copy_her_words_everywhere,
    leaks,
)


async def test_delete_my_data_leaves_nothing_in_db_wal_or_backup(staff_runtime, tmp_path):
    runtime = staff_runtime
    db_file = Path(runtime.db.path)
    wal = db_file.with_name(db_file.name + "-wal")
    her = await copy_her_words_everywhere(runtime)
    assert leaks(db_file, wal)  # before deletion her data is there (the test can fail)

    await her.send("/xoa_du_lieu")
    await her.press("Xóa thông tin")
    assert "Đã xóa" in her.text
    backup = tmp_path / "after.db"
    await runtime.db.backup(backup)
    assert leaks(db_file, wal, backup) == []

    async with runtime.db.transaction() as conn:
        outbox = await conn.execute_fetchall("SELECT chat_id, text, sent_at FROM outbox")
        other = await q.get_conversation(conn, "telegram", "777")
    assert all(r["chat_id"] != HER_ID for r in outbox)  # unsent to her dropped, sent emptied
    assert other is not None and other.state == "ask.similar"  # B's conversation goes on
    assert any("đã xóa theo yêu cầu" in r["text"] for r in outbox)  # staff see why it is gone


async def test_an_alert_written_while_the_database_refused_her_is_deleted_with_her(
        staff_runtime, tmp_path):
    # Her first message told of danger while the disk was full: the alert to staff, kept
    # aside and stored later, names her only by her Telegram id. After her /xoa_du_lieu that
    # id must be gone too (red-team pass 4, F9).
    from bot.scheduler import drain_alert_spool
    from handlers.fallback import not_stored
    from handlers.types import Incoming

    runtime = staff_runtime
    not_stored(runtime.services, Incoming(
        channel="telegram", chat_id=HER_ID, user_id=HER_ID, display_name="Vàng Thị Dung",
        text="Chồng em đang cầm dao đòi giết em", update_key="spool-1"), runtime.dispatcher.alerts)
    assert await drain_alert_spool(runtime) >= 1
    her = Person(runtime, HER_ID, "Vàng Thị Dung")
    for line in ("/start", "1", "nam tam", "1",
                 "Em muốn hỏi vay vốn ưu đãi chăn nuôi bò thì làm thế nào ạ", "1", "gui"):
        await her.send(line)
    db_file = Path(runtime.db.path)
    wal = db_file.with_name(db_file.name + "-wal")
    assert HER_ID.encode() in db_file.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    await her.send("/xoa_du_lieu")
    await her.press("Xóa thông tin")
    backup = tmp_path / "after.db"
    await runtime.db.backup(backup)
    assert leaks(db_file, wal, backup) == []
    for path in (db_file, wal, backup):  # nor the words of the message the disk refused
        if path.exists():
            assert "cầm dao đòi giết".encode() not in path.read_bytes(), path.name


async def test_other_members_keep_their_words(staff_runtime):
    """Deletion is hers only: another woman's question and alert stay whole."""
    runtime = staff_runtime
    other = Person(runtime, "5800999999", "Lò Thị Mai")
    mine = "Chị em bản Nà Sài muốn hỏi về học nghề may cho phụ nữ dân tộc thiểu số ạ"
    for line in ("/start", "1", "nam tam", "1", mine, "1", "gui"):
        await other.send(line)
    her = await copy_her_words_everywhere(runtime)
    await her.send("/xoa_du_lieu")
    await her.press("Xóa thông tin")
    async with runtime.db.transaction() as conn:
        texts = [r["text"] for r in await conn.execute_fetchall("SELECT text FROM questions")]
        digests = [r["text"] for r in await conn.execute_fetchall(
            "SELECT text FROM outbox WHERE purpose = 'digest'")]
    assert mine in texts
    # The digest that quoted both keeps hers: only what the two share word for word goes.
    assert any("học nghề may cho phụ nữ dân tộc thiểu số" in d for d in digests)


@pytest.mark.parametrize("others", [0, 12])  # few texts: scrubbed in SQL; many: in one pass
def test_purge_leaves_nothing_of_the_dialogue_in_db_wal_or_backup(staff_config, tmp_path,
                                                                   others):
    """`python -m bot purge --dialogue` on a closed dialogue, then a backup, then grep."""
    db_file = tmp_path / "purge.db"
    # The 2026 dialogue was collecting on 1 July 2026; it is closed today.
    clock = Clock(dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC))

    async def fill() -> None:
        runtime = await open_runtime(staff_config, db_file, clock=clock)
        try:
            async with runtime.db.transaction() as conn:  # other women's long questions
                for n in range(others):
                    user = await q.ensure_user(conn, "telegram", f"58009{n:05d}",
                                               f"58009{n:05d}", "", now=clock())
                    cluster = await q.create_cluster(conn, "lai-chau-2026", 2, now=clock())
                    receipt = await q.next_receipt(conn, "lai-chau-2026", "LC26")
                    await q.insert_question(conn, q.NewQuestion(
                        "lai-chau-2026", user.id, "telegram", cluster, q.Filing(
                            "member", "Xã Nậm Tăm", 2,
                            f"Bản số {n} chưa có nước sạch, chị em phải gánh nước suối xa hai "
                            "cây số mỗi ngày, mùa khô suối cạn, mùa mưa nước đục, trẻ con hay "
                            "bị đau bụng, xin tỉnh hỗ trợ đường ống và bể lọc cho bản", False),
                    ), receipt, now=clock())
            await copy_her_words_everywhere(runtime)
        finally:
            await runtime.close()

    asyncio.run(fill())
    wal = db_file.with_name(db_file.name + "-wal")
    assert leaks(db_file, wal)
    config = tmp_path / "config.toml"
    assert config.exists()  # written by the staff_config fixture
    assert main(["purge", "--dialogue", "lai-chau-2026", "--force", "--db", str(db_file),
                 "--config", str(config)]) == 0
    backup = tmp_path / "purged-backup.db"
    assert main(["backup", str(backup), "--db", str(db_file), "--config", str(config)]) == 0
    assert leaks(db_file, wal, backup) == []


async def test_a_staff_wording_pasted_from_her_question_goes_with_her_words(staff_runtime,
                                                                              tmp_path):
    # Red-team pass 5, F2: staff pasted the masked question into the cluster's wording; after
    # her /xoa_du_lieu "Khuổi Phạc" stayed in clusters.public_text, the db and a backup.
    runtime = staff_runtime
    her = await copy_her_words_everywhere(runtime)
    async with runtime.db.transaction() as conn:
        [row] = await conn.execute_fetchall(
            "SELECT q.cluster_id, q.text FROM questions q JOIN users u ON u.id = q.user_id "
            "WHERE u.external_id = ? AND q.text LIKE '%chăn nuôi bò%'", (HER_ID,))
    staff = Person(runtime, "900", "Cán bộ")
    pasted = row["text"].replace("0987654321", "[SĐT ẩn …321]")
    await staff.send(f"/noidung {row['cluster_id']} {pasted}")
    await her.send("/xoa_du_lieu")
    await her.press("Xóa thông tin")
    db_file = Path(runtime.db.path)
    backup = tmp_path / "after.db"
    await runtime.db.backup(backup)
    assert leaks(db_file, db_file.with_name(db_file.name + "-wal"), backup) == []
