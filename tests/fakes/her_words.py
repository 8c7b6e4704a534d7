"""A woman whose words the bot copies everywhere it copies them (a danger alert, a digest, a
deadline reminder, messages from staff sent and unsent, another member's saved offer, the WAL),
and a search of raw file bytes for anything of hers: what the deletion and privacy attacks
share."""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata
from pathlib import Path

from bot.digest import send_daily_digest
from bot.outbox import OutboxWorker
from bot.reminders import send_reminders
from handlers.types import Incoming, Kind
from storage import queries as q
from tests.chat import Member

HER_ID = "5800123479"
DISPLAY = "Vàng Thị Dung"
PHONE = "0987654321"
WORD = "Khuổi Phạc"
DANGER = (f"Em tên {DISPLAY}, số điện thoại {PHONE}, ở bản {WORD}. Chồng em đánh em rất đau, "
          "em muốn hỏi vay vốn ưu đãi để tự lo cho con")
LOAN = (f"Em ở bản {WORD} muốn hỏi vay vốn ưu đãi chăn nuôi bò sinh sản thì làm thế nào, "
        f"gọi em {PHONE}")
# Typed on a phone, with a line break: a reminder quotes it on one line and cut at its own length
# (red-team pass 4, F3: such a copy escaped a scrubber that knew only exact cuts).
HOUSE = ("Em muốn hỏi về hỗ trợ làm lại nhà cho hộ bị sạt lở\nnhà em ở bản "
         f"{WORD} sập từ mùa mưa năm ngoái, giờ cả nhà vẫn ở nhờ nhà hàng xóm, hồ sơ xin hỗ trợ "
         "gồm những giấy tờ gì ạ")
NEEDLES = (PHONE, DISPLAY, WORD, HER_ID, "Vàng Thị", "Khuổi", "ở nhờ nhà hàng xóm",
           "sập từ mùa mưa")


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
    for question, topic in ((LOAN, "1"), (HOUSE, "2")):
        for line in ("/start", "nam tam", topic, question, "1", "gui"):
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
    assert len(receipts) == 3, receipts
    staff = Member(runtime, user="900", channel="telegram")
    # Her house question goes to Sở Y tế, due in two days: the reminder quotes it today.
    async with runtime.db.transaction() as conn:
        [house] = await conn.execute_fetchall(
            "SELECT cluster_id FROM questions WHERE receipt = ?", (receipts[2],))
    today = runtime.db.clock().astimezone(runtime.services.settings.timezone).date()
    await staff.send(f"/chuyen {house[0]} 4 {today + dt.timedelta(days=2):%d/%m/%Y}")
    assert "Chủ trì" in staff.text, staff.text
    assert await send_reminders(runtime.db, runtime.services.settings,
                                runtime.services.locale, runtime.db.clock()) >= 1
    await staff.send(f"/nhan {receipts[1]} Chị {DISPLAY} ơi, Hội đã nhận, cán bộ sẽ gọi lại")
    await send_daily_digest(runtime.db, runtime.services.settings, runtime.services.locale,
                            runtime.db.clock())
    await drain(runtime)  # alerts, digest and the message to her are sent
    await staff.send(f"/nhan {receipts[1]} Chị {DISPLAY} ơi, thêm một tin chưa gửi")
    async with runtime.db.transaction() as conn:
        before = await conn.execute_fetchall("SELECT text FROM outbox")
    assert any(WORD in r["text"] for r in before)  # the attack has something to find
    assert any(DISPLAY in r["text"] for r in before)
    assert any("sập từ mùa mưa" in r["text"] for r in before)  # the reminder
    return her
