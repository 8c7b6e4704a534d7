"""The alert spool: what a dead process left on disk is delivered once, into the outbox when the
database takes it, straight to the staff chat when it does not."""

from __future__ import annotations

from storage.spool import AlertSpool


async def test_an_alert_left_by_a_dead_process_is_delivered_once(tmp_path):
    AlertSpool.beside(tmp_path / "bot.db").put("telegram", "-1001", "🚨 KHẨN", ("telegram", "7"))
    spool = AlertSpool.beside(tmp_path / "bot.db")  # a new process: nothing in memory
    queued, sent = [], []

    async def enqueue(alert):
        queued.append(alert)

    async def send(chat_id, text):
        sent.append((chat_id, text))

    assert await spool.drain(enqueue, {"telegram": send}) == 1
    assert [(a.chat_id, a.text, a.about) for a in queued] == [("-1001", "🚨 KHẨN",
                                                               ("telegram", "7"))]
    assert await spool.drain(enqueue, {"telegram": send}) == 0  # once
    assert sent == [] and list((tmp_path / "bot.db.alerts").iterdir()) == []


async def test_when_the_database_refuses_the_alert_goes_straight_to_staff(tmp_path):
    spool = AlertSpool.beside(tmp_path / "bot.db")
    spool.put("telegram", "-1001", "🚨 KHẨN")
    sent = []

    async def broken(alert):
        raise OSError("disk full")

    async def send(chat_id, text):
        sent.append(chat_id)

    async def down(chat_id, text):
        raise ConnectionError("telegram unreachable")

    assert await spool.drain(broken, {"telegram": down}) == 0  # kept: nothing delivered
    assert len(spool.pending()) == 1
    assert await spool.drain(broken, {"telegram": send}) == 1
    assert sent == ["-1001"] and spool.pending() == []
