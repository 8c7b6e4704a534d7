"""The one clock of the process.

The runtime picks it (the system clock, or a fixed one in tests and demos) and passes it down to
flows, storage, the outbox, the digest and the CLI. Nothing else reads the wall clock, so a test
that sets the date sets it everywhere, and rows are stamped with the same time the flows see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

__all__ = ["Clock", "stamp", "system_clock"]

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime) -> str:
    """How a moment is stored: UTC, ISO 8601 to the second ("2026-12-01T03:00:00+00:00")."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")
