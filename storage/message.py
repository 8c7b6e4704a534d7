"""The bookkeeping every incoming message does, in two trips to the database thread.

Opening (with BEGIN IMMEDIATE): claim the delivery id, find or create her user row, read her
conversation. Closing (with COMMIT): save or drop the conversation. The SQL is storage.queries'
own (CLAIM_UPDATE, ENSURE_USER, GET_CONVERSATION, SAVE_/DELETE_CONVERSATION), so the one-by-one
functions there and these cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from . import queries as q

__all__ = ["Opening", "close_message", "open_message"]


@dataclass(frozen=True)
class Opening:
    claimed: bool  # False: a duplicate delivery; nothing else was read or written
    user: q.User | None = None
    conversation: q.Conversation | None = None


def open_message(channel: str, bot: str, update_key: str, external_id: str, chat_id: str,
                 display_name: str, now: dt.datetime) -> Callable[[sqlite3.Connection], Opening]:
    """What `Database.opened_transaction` runs after BEGIN, in the same trip."""

    claim = q.claim_update_params(channel, bot, update_key, now)
    ensure = q.ensure_user_params(channel, external_id, chat_id, display_name, now)

    def run(raw: sqlite3.Connection) -> Opening:
        if update_key and raw.execute(q.CLAIM_UPDATE, claim).rowcount != 1:
            return Opening(claimed=False)
        user = raw.execute(q.ENSURE_USER, ensure).fetchone()
        conversation = raw.execute(q.GET_CONVERSATION, (channel, chat_id)).fetchone()
        return Opening(True, q._user(user), q.conversation_of(conversation))

    return run


def close_message(channel: str, chat_id: str, state: str, data: dict, offered: list[dict],
                  now: dt.datetime, erased: bool) -> Callable[[sqlite3.Connection], None]:
    """What runs just before COMMIT, in the same trip: her conversation saved, or dropped."""

    # Encoded here, in the event loop, so a value JSON cannot take fails before the trip.
    save = None if erased else q.save_conversation_params(channel, chat_id, state, data,
                                                          offered, now)

    def run(raw: sqlite3.Connection) -> None:
        if save is None:  # an erased chat keeps no conversation row either
            raw.execute(q.DELETE_CONVERSATION, (channel, chat_id))
        else:
            raw.execute(q.SAVE_CONVERSATION, save)

    return run
