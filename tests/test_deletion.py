"""Attack: after /xoa_du_lieu, and after `purge`, grep the raw bytes of the database file, its
-wal and a backup made afterwards for her phone, her name, her ids and a word of her text.

Before she deletes, her words have been copied everywhere the bot copies them: a danger alert
and a digest for staff (sent), a message from staff to her (sent) and one not yet sent, another
member's saved conversation (an offer of her question), and the WAL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import unicodedata
from pathlib import Path

import pytest

from bot.cli import main
from bot.digest import send_daily_digest
from bot.outbox import OutboxWorker
from bot.runtime import open_runtime
from handlers.types import Incoming, Kind
from storage import queries as q
from tests.chat import Member
from tests.conftest import Clock

HER_ID = "5800123479"
DISPLAY = "Vàng Thị Dung"
PHONE = "0987654321"
WORD = "Khuổi Phạc"
DANGER = (f"Em tên {DISPLAY}, số điện thoại {PHONE}, ở bản {WORD}. Chồng em đánh em rất đau, "
          "em muốn hỏi vay vốn ưu đãi để tự lo cho con")
LOAN = (f"Em ở bản {WORD} muốn hỏi vay vốn ưu đãi chăn nuôi bò sinh sản thì làm thế nào, "
        f"gọi em {PHONE}")
NEEDLES = (PHONE, DISPLAY, WORD, HER_ID, "Vàng Thị", "Khuổi")


_updates = itertools.count(1)


class Person(Member):
    """A member with her own display name, as Telegram sends it."""

    def __init__(self, runtime, user: str, display_name: str) -> None:
        super().__init__(runtime, user=user, channel="telegram")
        self.display_name = display_name

    async def send(self, text: str, **extra) -> list:
        return await self._handle(Incoming(  # update ids are the platform's, not hers
            channel=self.channel, chat_id=self.user, user_id=self.user, text=text,
            display_name=self.display_name, update_key=f"u{next(_updates)}", **extra))

    async def action(self, data: str) -> list:
        return await self._handle(Incoming(
            channel=self.channel, chat_id=self.user, user_id=self.user, kind=Kind.ACTION,
            action=data, display_name=self.display_name, update_key=f"u{next(_updates)}"))


def leaks(*files: Path) -> list[str]:
    """Every needle, in UTF-8 as NFC and NFD, found in the raw bytes of these files."""
    found = []
    for path in files:
        if not path.exists():
            continue
        raw = path.read_bytes()
        for needle in NEEDLES:
            for form in ("NFC", "NFD"):
                if unicodedata.normalize(form, needle).encode() in raw:
                    found.append(f"{path.name}: {needle!r} ({form})")
    return found


async def drain(runtime) -> None:
    async def sent(chat_id: str, text: str) -> None:
        return None

    await OutboxWorker(runtime.db, "telegram", sent, per_chat_seconds=0).drain_once()


async def copy_her_words_everywhere(runtime, dialogue_start: tuple[str, ...] = ()) -> Person:
    her = Person(runtime, HER_ID, DISPLAY)
    # After the disclosure she chooses to go on ("1"), names herself ("1"), sends, and gives her
    # separate consent for violence data.
    for line in (*dialogue_start, "/start", "1", "nam tam", "1", DANGER, "1", "1", "gui",
                 "dong y"):
        await her.send(line)
    for line in ("/start", "nam tam", "1", LOAN, "1", "gui"):
        await her.send(line)
    async with runtime.db.transaction() as conn:
        receipts = [r["receipt"] for r in await conn.execute_fetchall(
            "SELECT q.receipt FROM questions q JOIN users u ON u.id = q.user_id "
            "WHERE u.external_id = ? ORDER BY q.id", (HER_ID,))]
        # Another member's conversation saved while she was offered this question (the
        # format before offers kept only ids): it holds the text.
        await q.save_conversation(conn, "telegram", "777", "ask.similar",
                                  {"dialogue": "lai-chau-2027",
                                   "similar": [{"cluster": 2, "question": 2, "text": LOAN}]},
                                  [], now=runtime.db.clock())
    assert len(receipts) == 2, receipts
    staff = Member(runtime, user="900", channel="telegram")
    await staff.send(f"/nhan {receipts[1]} Chị {DISPLAY} ơi, Hội đã nhận, cán bộ sẽ gọi lại")
    await send_daily_digest(runtime.db, runtime.services.settings, runtime.services.locale,
                            runtime.db.clock())
    await drain(runtime)  # alerts, digest and the message to her are sent
    await staff.send(f"/nhan {receipts[1]} Chị {DISPLAY} ơi, thêm một tin chưa gửi")
    async with runtime.db.transaction() as conn:
        before = await conn.execute_fetchall("SELECT text FROM outbox")
    assert any(WORD in r["text"] for r in before)  # the attack has something to find
    assert any(DISPLAY in r["text"] for r in before)
    return her


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
    assert mine in texts


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
                        "lai-chau-2026", user.id, "telegram", "member", "Xã Nậm Tăm", 2,
                        f"Bản số {n} chưa có nước sạch, chị em phải gánh nước suối xa hai cây "
                        "số mỗi ngày, mùa khô suối cạn, mùa mưa nước đục, trẻ con hay bị đau "
                        "bụng, xin tỉnh hỗ trợ đường ống và bể lọc cho bản", False, cluster,
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
