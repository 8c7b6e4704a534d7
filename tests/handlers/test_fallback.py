"""handlers/fallback.py: the database refused her message (disk full). The staff alert still
goes out (through the spool), and follows [privacy]: her words stay off the chat servers."""

from __future__ import annotations

import dataclasses

from handlers.fallback import not_stored
from handlers.types import Incoming

DANGER = "Chồng em đang cầm dao đòi giết em SPOOLMARK, em trốn trong bếp"


class Sink:
    def __init__(self) -> None:
        self.alerts: list[tuple[str, str, str]] = []

    def put(self, channel: str, chat_id: str, text: str, about=None) -> None:
        self.alerts.append((channel, chat_id, text))


def refused(runtime, texts_in_chat: bool) -> tuple[str, list]:
    settings = dataclasses.replace(runtime.services.settings, texts_in_chat=texts_in_chat)
    services = dataclasses.replace(runtime.services, settings=settings)
    sink = Sink()
    replies = not_stored(services, Incoming(channel="telegram", chat_id="7100", user_id="7100",
                                            text=DANGER), sink)
    return "\n".join(r.text for r in replies), sink.alerts


async def test_with_texts_off_the_alert_of_an_unstored_message_carries_no_words(staff_runtime):
    # Red-team pass 3: on a full disk the spooled alert put her words in the staff chat
    # although [privacy] texts_in_chat = false.
    told, alerts = refused(staff_runtime, texts_in_chat=False)
    assert "113" in told and "gửi lại" in told
    assert len(alerts) == 1 and "KHẨN" in alerts[0][2] and "telegram:7100" in alerts[0][2]
    assert "SPOOLMARK" not in alerts[0][2] and "dao" not in alerts[0][2]


async def test_with_texts_on_the_alert_carries_her_words(staff_runtime):
    _, alerts = refused(staff_runtime, texts_in_chat=True)
    assert len(alerts) == 1 and "SPOOLMARK" in alerts[0][2]
