"""Backup files: naming, rotation, checking a copy, and putting one back in place.

Copies are made with SQLite's online backup API (`Database.backup` while the bot runs, the same
API through the stdlib before start-up), so a copy is consistent even while members write: it
holds exactly the transactions committed when it finished. Deleted rows are zeroed in the live
file (secure_delete), so a copy made after a deletion does not bring them back.

Error tree:
    BackupError   the copy is missing, unreadable, damaged, not ours, or newer than the code
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .db import MIGRATIONS_DIR

__all__ = [
    "BackupError",
    "Checked",
    "Erasures",
    "check_copy",
    "copy_database",
    "erasures_since",
    "latest_backup_time",
    "marks_of",
    "pending_migrations",
    "put_in_place",
    "rotate",
    "scheduled_name",
    "upgrade_name",
]

_STAMP = "%Y%m%d-%H%M%S"
_SCHEDULED = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}-\d{6})\.db$")


class BackupError(Exception):
    """A backup cannot be used; the message says why, in Vietnamese then English."""


@dataclass(frozen=True)
class Checked:
    path: Path
    migrations: tuple[str, ...]
    questions: int


def shipped_migrations() -> list[str]:
    return sorted(f.stem for f in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def scheduled_name(database: Path, now: dt.datetime) -> str:
    """doithoai-20261203-023000.db: local time, sorts by age; rotation only counts these."""
    return f"{database.stem}-{now.strftime(_STAMP)}.db"


def upgrade_name(database: Path, now: dt.datetime, migration: str) -> str:
    """Taken by `run` before it applies `migration`: kept out of rotation (the rollback)."""
    return f"{database.stem}-{now.strftime(_STAMP)}-before-{migration}.db"


def latest_backup_time(folder: Path, database: Path) -> dt.datetime | None:
    """When the newest scheduled backup of `database` was taken (naive local time), or None."""
    stamps = [m["stamp"] for m in _scheduled(folder, database)]
    return dt.datetime.strptime(max(stamps), _STAMP) if stamps else None


def rotate(folder: Path, database: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` scheduled backups; returns what was deleted."""
    found = sorted(_scheduled(folder, database), key=lambda m: m["stamp"], reverse=True)
    gone = []
    for match in found[keep:]:
        path = folder / match.string
        path.unlink(missing_ok=True)
        gone.append(path)
    return gone


def _scheduled(folder: Path, database: Path) -> list[re.Match[str]]:
    if not folder.is_dir():
        return []
    matches = (_SCHEDULED.match(p.name) for p in folder.iterdir())
    return [m for m in matches if m and m["stem"] == database.stem]


def pending_migrations(database: Path) -> list[str]:
    """Migrations the code has and an existing database lacks ([] for a new or empty file)."""
    if not database.is_file() or database.stat().st_size == 0:
        return []
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'")
        if exists.fetchone() is None:
            return []
        applied = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    finally:
        conn.close()
    return [name for name in shipped_migrations() if name not in applied]


def file_health(path: Path) -> tuple[list[str], set[str]]:
    """(PRAGMA integrity_check's lines, migrations applied) of a database file, read-only.
    Raises sqlite3.Error when the file is not a database SQLite can open."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        check = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        applied = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    finally:
        conn.close()
    return check, applied


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup API, readable by its owner only."""
    _create_private(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dest = sqlite3.connect(target)
        try:
            src.backup(dest)
        finally:
            dest.close()
    finally:
        src.close()


def check_copy(path: Path) -> Checked:
    """The copy opens, passes integrity_check, is a bot database and is not newer than the code."""
    if not path.is_file():
        raise BackupError(f"Không thấy tệp sao lưu {path} / backup file not found")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            check = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if check != ["ok"]:
                raise BackupError(f"Bản sao lưu {path} bị hỏng / the backup fails "
                                  f"integrity_check: {'; '.join(check[:3])[:300]}")
            applied = tuple(row[0] for row in conn.execute(
                "SELECT name FROM schema_migrations ORDER BY name"))
            questions = conn.execute("SELECT count(*) FROM questions").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} không phải cơ sở dữ liệu của bot / is not a bot database "
                          f"({type(exc).__name__}: {exc})") from None
    newer = sorted(set(applied) - set(shipped_migrations()))
    if newer:
        raise BackupError(f"Bản sao lưu mới hơn mã nguồn / the backup has migrations this code "
                          f"does not know ({', '.join(newer)}): run the newer code")
    return Checked(path, applied, questions)


@dataclass(frozen=True)
class Erasures:
    """What the database being replaced says was erased, by row id and creation time (ids of
    removed rows can be given to newcomers: the creation time tells the same person apart)."""

    lineage: str  # when 0001_initial was applied: the same database, copied, has the same
    last_write: str  # the newest user or question: a database older than the copy tells nothing
    users: dict[int, tuple[str, str | None]]  # id → (created_at, deleted_at)
    erased_questions: dict[int, str]  # id → created_at, text erased


def erasures_since(current: Path) -> Erasures | None:
    """Read the current database (read-only) for the deletions a restore must redo; None when
    it is missing or unreadable (then they cannot be redone: the restore says so)."""
    if not current.is_file() or current.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{current}?mode=ro", uri=True, timeout=5)
        try:
            return Erasures(
                *_marks(conn),
                users={row[0]: (row[1], row[2]) for row in conn.execute(
                    "SELECT id, created_at, deleted_at FROM users")},
                erased_questions=dict(conn.execute(
                    "SELECT id, created_at FROM questions WHERE text = '' AND voice_url IS NULL")),
            )
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def marks_of(path: Path) -> tuple[str, str]:
    """(lineage, last write) of a database file, as in `Erasures`."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return _marks(conn)
    finally:
        conn.close()


def _marks(conn: sqlite3.Connection) -> tuple[str, str]:
    row = conn.execute(
        "SELECT applied_at FROM schema_migrations ORDER BY name LIMIT 1").fetchone()
    last = conn.execute(
        "SELECT max(coalesce((SELECT max(created_at) FROM users), ''),"
        " coalesce((SELECT max(created_at) FROM questions), ''))").fetchone()
    return (row[0] if row else "", last[0] or "")


def put_in_place(prepared: Path, database: Path, now: dt.datetime) -> Path | None:
    """Move the current database (with its -wal and -shm) aside, then `prepared` into its place.

    Returns where the replaced database now is, or None when there was none. The caller holds
    the instance lock: no bot has the file open.
    """
    aside = None
    if database.exists() and database.stat().st_size > 0:
        aside = database.with_name(f"{database.name}.replaced-{now.strftime(_STAMP)}")
        for suffix in ("-wal", "-shm"):  # moved with it, so the copy aside stays whole
            companion = Path(f"{database}{suffix}")
            if companion.exists():
                os.replace(companion, Path(f"{aside}{suffix}"))
        os.replace(database, aside)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.replace(prepared, database)
    for suffix in ("-wal", "-shm"):  # the prepared copy was checkpointed and closed: empty
        Path(f"{prepared}{suffix}").unlink(missing_ok=True)
    return aside


def _create_private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
    os.close(fd)
