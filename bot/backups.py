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
from storage.lock import instance_lock

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


def restore(config: Config, backup: Path, database: Path, clock: Clock = system_clock) -> Restored:
    """Check the copy, migrate a working copy of it, then swap it in; the old file is kept aside.

    Raises BackupError when the copy cannot be used and storage.lock.AlreadyRunning while a bot
    holds the database: nothing is changed then.
    """
    checked = files.check_copy(backup)
    with instance_lock(database):
        prepared = database.with_name(f"{database.name}.restoring")
        for leftover in (prepared, Path(f"{prepared}-wal"), Path(f"{prepared}-shm")):
            leftover.unlink(missing_ok=True)
        files.copy_database(backup, prepared)
        try:
            asyncio.run(_migrate(prepared, clock))
            after = files.check_copy(prepared)
        except BaseException:
            prepared.unlink(missing_ok=True)
            raise
        aside = files.put_in_place(prepared, database, _local(config, clock))
    applied = tuple(sorted(set(after.migrations) - set(checked.migrations)))
    return Restored(database, aside, applied, after.questions)


async def _migrate(path: Path, clock: Clock) -> None:
    db = await Database.open(path, clock)  # applies whatever migrations the copy lacks
    try:
        await db.checkpoint()
    finally:
        await db.close()

