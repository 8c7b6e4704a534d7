"""Zalo updates → `Incoming`: pure functions over the JSON Zalo sends (webhook or getUpdates).

Shapes are parsed defensively: what the API documents and what integrations saw live differ
(see shared/ZALO_BOT_API.md), so both variants are accepted wherever they disagree.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from handlers.types import Incoming, Kind

__all__ = ["CHANNEL", "Seen", "parse_update", "unwrap_update", "update_key"]

log = logging.getLogger(__name__)

CHANNEL = "zalo"
SEEN_UPDATES = 2048  # message ids remembered in memory to drop duplicate deliveries early
ID_CHARS = 128
NAME_CHARS = 100
URL_CHARS = 1000

_KINDS = {
    "message.text.received": Kind.TEXT,
    "message.image.received": Kind.PHOTO,
    "message.sticker.received": Kind.STICKER,
    "message.voice.received": Kind.VOICE,
    # Files, contact cards, and every message from members of Zalo's protected groups
    # (children, people with disabilities, people who cannot read): handlers.unsupported.
    "message.unsupported.received": Kind.UNSUPPORTED,
}


def unwrap_update(body: Any) -> dict[str, Any] | None:
    """A webhook body as an update: wrapped `{"ok": true, "result": {…}}` or flat; else None.

    An update names its event or carries a message: getUpdates results were seen without
    `event_name` (issue 15), and such a text is still her text."""
    if not isinstance(body, dict):
        return None
    update = body
    if body.get("ok") is True and isinstance(body.get("result"), dict):
        update = body["result"]
    if isinstance(update.get("event_name"), str) or isinstance(update.get("message"), dict):
        return update
    return None


def parse_update(update: Mapping[str, Any], bot: str) -> Incoming | None:
    """The `Incoming` for one update, or None when it names no chat to answer."""
    event = update.get("event_name")
    event = event if isinstance(event, str) else ""
    message = update.get("message")
    if not isinstance(message, Mapping):
        log.info("zalo %s without a message ignored", event[:60] or "update")
        return None
    sender = _mapping(message.get("from"))
    chat = _mapping(message.get("chat"))
    user_id = _text_id(sender.get("id"))
    chat_id = _text_id(chat.get("id")) or user_id  # private chats: chat id = user id
    if not chat_id:
        log.info("zalo %s without a chat id ignored", event[:60] or "update")
        return None
    kind, text, media = _content(event, message)
    chat_type = chat.get("chat_type")
    return Incoming(
        channel=CHANNEL, chat_id=chat_id, user_id=user_id or chat_id, kind=kind, text=text,
        media_url=media, display_name=sender_name(sender)[:NAME_CHARS],
        update_key=update_key(update), bot=bot,
        is_group=isinstance(chat_type, str) and chat_type.upper() == "GROUP",
    )


def update_key(update: Mapping[str, Any]) -> str:
    """The message id; for an event without one, a digest of the event itself, so that the same
    event delivered twice is still handled once."""
    key = _text_id(_mapping(update.get("message")).get("message_id"))
    if key:
        return key
    canonical = json.dumps(update, sort_keys=True, ensure_ascii=False, default=str,
                           separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return "event:" + digest


def sender_name(sender: Mapping[str, Any]) -> str:
    """`display_name` (documented), `name` (OpenClaw), or `first_name` [+ `last_name`] (seen in
    getUpdates results)."""
    name = _field(sender, "display_name", "name")
    if name:
        return name
    return " ".join(p for p in (_field(sender, "first_name"), _field(sender, "last_name")) if p)


def field(mapping: Mapping[str, Any], *names: str) -> str:
    """The first of `names` holding a non-blank string, stripped; "" if none."""
    return _field(mapping, *names)


def _text_id(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, str | int):
        return str(value).strip()[:ID_CHARS]
    return ""


def _field(mapping: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = mapping.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _content(event: str, message: Mapping[str, Any]) -> tuple[Kind, str, str]:
    kind = _KINDS.get(event)
    text = message.get("text")
    if isinstance(text, str) and text.strip() and kind in (None, Kind.TEXT, Kind.UNSUPPORTED):
        # Any message with text is text, whatever (or whether) the event is named.
        return Kind.TEXT, text, ""
    if kind is None:
        # Zalo names files and the like `message.unsupported.received`; a name we do not know
        # is treated the same: she is offered what she can do without typing.
        log.info("zalo event %r is not known; answered as an unsupported message", event[:60])
        return Kind.UNSUPPORTED, "", ""
    if kind is Kind.TEXT:
        return kind, text if isinstance(text, str) else "", ""
    if kind is Kind.PHOTO:
        return kind, _field(message, "caption"), _field(message, "photo_url", "photo")[:URL_CHARS]
    if kind is Kind.VOICE:
        return kind, _field(message, "caption"), _field(message, "voice_url")[:URL_CHARS]
    return kind, "", ""


class Seen:
    """A bounded memory of recent message ids; the dispatcher keeps the durable record."""

    def __init__(self, size: int = SEEN_UPDATES) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True
