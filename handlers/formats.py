"""How a date or a moment is written for a woman, a leader or staff: one formatter for each.

Official documents (Nghị định 30: "ngày 05 tháng 3 năm 2027") keep their own form in bot/exports.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol


def day(value: dt.date) -> str:
    """05/03/2027: day first, as Vietnamese readers expect."""
    return value.strftime("%d/%m/%Y")


def moment(value: dt.datetime, tz: dt.tzinfo) -> str:
    """14:30 05/03/2027 in the province's time zone."""
    return value.astimezone(tz).strftime("%H:%M %d/%m/%Y")


class _Counted(Protocol):
    @property
    def direct(self) -> int: ...  # women who asked it themselves

    @property
    def relayed(self) -> int: ...  # women a commune leader relayed it for


def asked(t: Callable[..., str], cluster: _Counted) -> str:
    """How many asked: "5 người hỏi", or with the women a leader relayed for."""
    if cluster.relayed:
        return t("staff.count_relayed", direct=cluster.direct, relayed=cluster.relayed)
    return t("staff.count_direct", direct=cluster.direct)


def shortened(text: str, width: int) -> str:
    """At most `width` characters, an ellipsis where it was cut."""
    return text if len(text) <= width else text[:width - 1] + "…"
