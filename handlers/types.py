"""The contract between channels and flows.

A channel adapter turns whatever its platform delivers into an `Incoming`, hands it to the
dispatcher, and shows each returned `Reply`: inline buttons on Telegram, a numbered text menu on
Zalo and the terminal. Flows never see a platform object.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .text import from_outside

__all__ = ["Incoming", "Kind", "Option", "Reply"]


class Kind(StrEnum):
    """What the user sent. Anything that is not text or a button press gets a kind reply."""

    TEXT = "text"
    ACTION = "action"  # a button press; `action` holds its data (never trusted)
    STICKER = "sticker"
    PHOTO = "photo"
    VOICE = "voice"
    DOCUMENT = "document"
    OTHER = "other"
    # The platform could not show us what she sent (Zalo's protected groups reach a bot only
    # this way): handlers.unsupported offers what she can do without typing.
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Incoming:
    """One message or button press, as a channel adapter received it.

    Every text field is passed through `from_outside` here, at the edge: whatever bytes a
    platform delivered (lone surrogates, NUL, C1 controls), nothing past this point sees them.
    """

    channel: str  # "telegram" | "zalo" | "terminal"
    chat_id: str
    user_id: str
    kind: Kind = Kind.TEXT
    text: str = ""
    action: str = ""
    display_name: str = ""
    media_url: str = ""  # voice/photo URL where the platform gives one
    update_key: str = ""  # platform id of the delivery, for dropping duplicates
    bot: str = ""  # the receiving bot's own id: delivery ids are unique per bot, not per channel
    is_group: bool = False
    is_edit: bool = False

    def __post_init__(self) -> None:
        for name in _OUTSIDE_TEXT:
            value = getattr(self, name)
            safe = from_outside(value)
            if safe is not value:
                object.__setattr__(self, name, safe)


_OUTSIDE_TEXT = ("chat_id", "user_id", "text", "action", "display_name", "media_url",
                 "update_key", "bot")


@dataclass(frozen=True)
class Option:
    """One choice offered to the user.

    `number` is what she can type instead of pressing a button: choices are numbered 1..n, the
    "Quay lại" option is 0, and options without a number (Hủy) are reached by button or keyword.
    """

    label: str
    action: str
    number: int | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    text: str
    options: tuple[Option, ...] = ()
    columns: int = 1  # buttons per row on Telegram
    image: bytes | None = None  # a PNG to send before the text (digest chart)
    document: tuple[str, bytes] | None = None  # (file name, content) for exports
    # The platform's update is confirmed only once this reply was sent: she must know that
    # her message was not stored, or the platform delivers it again.
    awaited: bool = False
    # The dedupe key of an outbox copy of this reply, queued in case the process dies before
    # the reply is sent (the hotlines); withdrawn once the reply was sent (Dispatcher.delivered).
    cancels: str = ""
