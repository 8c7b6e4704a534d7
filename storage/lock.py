"""One running bot per database.

Two `python -m bot run` on one database both poll, both drain the outbox, and women are told
twice. The lock is an OS lock (flock) on the database file itself: whatever path names it (a
symlink, a relative path) it is the same file, no lock file can be deleted from under it, and the
kernel drops it when the process dies, however it dies (kill -9 included), so a stale lock never
blocks a restart. SQLite locks with POSIX record locks (fcntl), which are independent of flock on
Linux; the descriptor stays open until the bot stops, because closing any descriptor of the file
would release SQLite's own locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["AlreadyRunning", "instance_lock"]


class AlreadyRunning(Exception):
    """Another process holds the database's instance lock."""

    def __init__(self, database: Path) -> None:
        self.database = database
        super().__init__(f"another bot is already running on this database ({database})")


@contextlib.contextmanager
def instance_lock(database: Path | str) -> Iterator[Path | None]:
    """Hold the lock while the block runs; raise AlreadyRunning at once if it is taken."""
    if str(database) == ":memory:":
        yield None
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)  # created private, like Database.open
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(path.resolve()) from None
        yield path
    finally:
        os.close(fd)  # releases the lock
