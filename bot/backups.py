"""Scheduled backups, the backup `run` takes before a new migration, and `restore`.

The files themselves (names, rotation, checks) are storage.backups; this module decides when.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from storage import backups as files
from storage.backups import BackupError
from storage.clock import Clock, system_clock
from storage.db import Database
from storage.lock import instance_lock, refuse_if_in_use

from .config import Config

__all__ = ["BackupError", "Restored", "backup_before_upgrade", "backup_is_due", "backup_now",
           "restore"]

log = logging.getLogger(__name__)


def _local(config: Config, clock: Clock) -> dt.datetime:
    return clock().astimezone(config.settings.timezone).replace(tzinfo=None)


async def backup_now(db: Database, config: Config) -> Path:
    """Today's copy through the online backup API, then rotation to `backup.keep` copies."""
    database = Path(db.path)
    target = config.backup_dir / files.scheduled_name(database, _local(config, db.clock))
    await db.backup(target)
    gone = files.rotate(config.backup_dir, database, config.backup_keep)
    log.info("backup written to %s (%d old one(s) rotated out)", target, len(gone))
    return target


def backup_is_due(config: Config, database: Path, clock: Clock) -> bool:
    """No scheduled copy in the last day: the bot was down at the slot, or this is day one."""
    if config.backup_keep == 0:
        return False
    last = files.latest_backup_time(config.backup_dir, database)
    return last is None or _local(config, clock) - last >= dt.timedelta(days=1)


def backup_before_upgrade(config: Config, database: Path,
                          clock: Clock = system_clock) -> Path | None:
    """Before `run` applies new migrations to an existing database: a copy to roll back to.

    Raises OSError/sqlite3.Error when the copy cannot be made: then nothing is migrated.
    """
    pending = files.pending_migrations(database)
    if not pending:
        return None
    target = config.backup_dir / files.upgrade_name(database, _local(config, clock), pending[0])
    files.copy_database(database, target)
    files.check_copy(target)
    log.info("before migrating (%s): backup written to %s", ", ".join(pending), target)
    return target


@dataclass(frozen=True)
class Restored:
    database: Path
    aside: Path | None
    migrations: tuple[str, ...]  # applied to the copy on the way in
    questions: int
    # Deletions made after the copy was taken, redone on it; None: unknown (the replaced
    # database was missing, unreadable or another installation's).
    erasures_redone: int | None = None


def restore(config: Config, backup: Path, database: Path, clock: Clock = system_clock) -> Restored:
    """Check the copy, migrate a working copy of it, then swap it in; the old file is kept aside.

    Raises BackupError when the copy cannot be used, storage.lock.AlreadyRunning while a bot
    holds the database and storage.lock.InUse while another process (the console) has it open:
    nothing is changed then.
    """
    checked = files.check_copy(backup)
    # Through a symlink, the file it points to is replaced (the link then finds the restored
    # copy); replacing the link itself would leave every running process on the old file.
    database = database.resolve()
    with instance_lock(database), refuse_if_in_use(database):
        erased = files.erasures_since(database)
        lineage, last_write = files.marks_of(backup)
        if erased is not None and (erased.lineage != lineage or erased.last_write < last_write):
            erased = None  # another installation's, or older than the copy: it tells nothing
        prepared = database.with_name(f"{database.name}.restoring")
        for leftover in (prepared, Path(f"{prepared}-wal"), Path(f"{prepared}-shm")):
            leftover.unlink(missing_ok=True)
        files.copy_database(backup, prepared)
        try:
            redone = asyncio.run(_migrate(prepared, clock, config, erased))
            after = files.check_copy(prepared)
        except BaseException:
            prepared.unlink(missing_ok=True)
            raise
        aside = files.put_in_place(prepared, database, _local(config, clock))
    applied = tuple(sorted(set(after.migrations) - set(checked.migrations)))
    return Restored(database, aside, applied, after.questions, redone)


async def _migrate(path: Path, clock: Clock, config: Config,
                   erased: files.Erasures | None) -> int | None:
    """Migrate the copy, then redo on it the deletions made since it was taken (None: the
    database it replaces could not tell them)."""
    db = await Database.open(path, clock)  # applies whatever migrations the copy lacks
    try:
        redone = None if erased is None else await _redo_erasures(db, config, erased)
        await db.checkpoint()  # no erased words left in the -wal
    finally:
        await db.close()
    return redone


async def _redo_erasures(db: Database, config: Config, erased: files.Erasures) -> int:
    """A member who deleted her data (or declined consent) after the backup was taken must not
    come back with the restore: the current database says who; the same is done to the copy."""
    from handlers.locale import Locale
    from handlers.privacy import mask_pii
    from storage import queries as q

    scrubbed = Locale.load(config.locale).t("data.scrubbed")
    redone = 0
    async with db.transaction() as conn:
        for row in await q.live_users(conn):
            now_row = erased.users.get(row["id"])
            same = now_row is not None and now_row[0] == row["created_at"]
            if same and now_row is not None and now_row[1] is None:
                continue  # still there, not deleted
            if not same and row["consent_at"] is None and await q.forget_declined_user(
                    conn, row["id"]):
                redone += 1
                continue
            await q.delete_user_data(conn, row["id"], now=db.clock(), masked=mask_pii,
                                     scrubbed=scrubbed)
            redone += 1
        for row in await q.questions_with_content(conn):
            if erased.erased_questions.get(row["id"]) == row["created_at"]:
                await q.erase_question_text(conn, row["id"])
                redone += 1
    return redone

