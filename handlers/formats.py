"""How a date or a moment is written for a woman, a leader or staff: one formatter for each.

Official documents (Nghị định 30: "ngày 05 tháng 3 năm 2027") keep their own form in bot/exports.py.
"""

from __future__ import annotations

import datetime as dt


def day(value: dt.date) -> str:
    """05/03/2027: day first, as Vietnamese readers expect."""
    return value.strftime("%d/%m/%Y")


def moment(value: dt.datetime, tz: dt.tzinfo) -> str:
    """14:30 05/03/2027 in the province's time zone."""
    return value.astimezone(tz).strftime("%H:%M %d/%m/%Y")
