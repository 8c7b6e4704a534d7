"""One running bot per database.

Two `python -m bot run` on one database both poll, both drain the outbox, and women are told
twice. The lock is an OS lock (flock) on a file beside the database: the kernel drops it when the
process dies, however it dies (kill -9 included), so a stale lock never blocks a restart.
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

    def __init__(self, lock_path: Path, holder: str) -> None:
        self.lock_path = lock_path
        self.holder = holder
        super().__init__(
            f"another bot is already running on this database (lock {lock_path}"
            + (f", process {holder}" if holder else "") + ")")


@contextlib.contextmanager
def instance_lock(database: Path | str) -> Iterator[Path | None]:
    """Hold the lock while the block runs; raise AlreadyRunning at once if it is taken."""
    if str(database) == ":memory:":
        yield None
        return
    lock_path = Path(f"{database}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise AlreadyRunning(lock_path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield lock_path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
