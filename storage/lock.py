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

__all__ = ["AlreadyRunning", "InUse", "database_in_use", "instance_lock", "refuse_if_in_use"]


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
    try:
        fd = _locked(path, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise AlreadyRunning(path.resolve()) from None
    try:
        yield path
    finally:
        os.close(fd)  # releases the lock


def _locked(path: Path, operation: int) -> int:
    """`path` (created private, like Database.open) open and holding flock `operation`; the
    caller closes it to release. BlockingIOError, nothing left open, when it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, operation)
    except BaseException:
        os.close(fd)
        raise
    return fd


# -- other processes with the database open (web console, terminal chat, one-off commands) ----
#
# `run` is the one bot (instance_lock above); the console (`web`) and the other commands may
# run beside it, so they cannot take that lock. Each holds a shared flock on a file beside the
# database instead, for as long as it has the database open; `restore` takes it exclusively and
# is refused while anyone holds it: a console left running would keep serving, and writing
# into, the file restore sets aside.


class InUse(Exception):
    """Another process has the database open; `holders` names them (command lines, pids)."""

    def __init__(self, database: Path, holders: list[str]) -> None:
        self.database = database
        self.holders = holders
        named = "; ".join(holders) or "another process"
        super().__init__(f"{named} has this database open ({database})")


def _users_file(database: Path | str) -> Path:
    # The real file's: a console opened through a symlink and a restore given the target (or
    # the other way round) must meet on one lock.
    path = Path(database).resolve()
    return path.with_name(f"{path.name}.inuse")


@contextlib.contextmanager
def database_in_use(database: Path | str) -> Iterator[None]:
    """Held (shared) while this process has the database open; waits for a restore to end."""
    if str(database) == ":memory:":
        yield
        return
    fd = _locked(_users_file(database), fcntl.LOCK_SH)
    try:
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def refuse_if_in_use(database: Path | str) -> Iterator[None]:
    """Held (exclusive) by `restore`: raise InUse at once while another process holds it."""
    path = _users_file(database)
    try:
        fd = _locked(path, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise InUse(Path(database).resolve(), _holders(path)) from None
    try:
        yield
    finally:
        os.close(fd)


def _holders(path: Path, locks: str = "/proc/locks") -> list[str]:
    """"python -m bot web … (pid 1234)" for each process holding an flock on `path`."""
    try:
        inode = os.stat(path).st_ino
        table = Path(locks).read_text()
    except OSError:
        return []
    pids: list[str] = []
    for line in table.splitlines():
        fields = line.split()  # "1: FLOCK  ADVISORY  READ 1234 08:01:5678 0 EOF"
        if "FLOCK" not in fields or "->" in fields or len(fields) < 6:
            continue
        if fields[5].rsplit(":", 1)[-1] == str(inode) and fields[4] not in pids:
            pids.append(fields[4])
    return [f"{_command_line(pid)} (pid {pid})" for pid in pids]


def _command_line(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:120]
