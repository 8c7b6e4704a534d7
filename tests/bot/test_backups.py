"""Backups and restore as the IT person uses them: the copy, rotation, the pre-upgrade copy, and
`python -m bot restore` refusing what it must refuse and changing nothing then."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from bot.backups import backup_before_upgrade, backup_is_due, backup_now
from bot.cli import main
from storage import backups as files
from storage.db import Database
from storage.lock import instance_lock
from tests.chat import Member
from tests.conftest import ROOT, Clock


def config_in(tmp_path: Path, keep: int = 3) -> Path:
    text = (ROOT / "config.demo.toml").read_text(encoding="utf-8")
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    text += f'\n[backup]\ntime = "02:30"\nkeep = {keep}\ndir = "copies"\n'
    path = tmp_path / "config.demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def ask(runtime, user: str, text: str) -> str:
    member = Member(runtime, user=user)
    for line in ("/start", "1", "nam tam", "1", text, "2", "1"):
        await member.send(line)
    assert "Mã tiếp nhận" in member.text, member.text
    return member.text


def receipts(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        return {row[0] for row in conn.execute("SELECT receipt FROM questions")}


async def test_scheduled_copies_rotate_to_keep_and_a_missed_day_is_due(tmp_path):
    from bot.config import load_config
    from bot.runtime import open_runtime

    config = load_config(config_in(tmp_path, keep=3), environ={})
    clock = Clock(dt.datetime(2026, 12, 1, 19, 30, tzinfo=dt.UTC))  # 02:30 on the 2nd, local
    runtime = await open_runtime(config, clock=clock)
    try:
        assert backup_is_due(config, Path(runtime.db.path), clock)  # day one: no copy yet
        await ask(runtime, "lan", "xin hoi ve vay von chan nuoi bo sinh san o ban em")
        made = []
        for day in range(5):
            clock.now = dt.datetime(2026, 12, 1 + day, 19, 30, tzinfo=dt.UTC)
            made.append(await backup_now(runtime.db, config))
            assert not backup_is_due(config, Path(runtime.db.path), clock)
        clock.now += dt.timedelta(days=1, minutes=1)
        assert backup_is_due(config, Path(runtime.db.path), clock)  # the bot was down
    finally:
        await runtime.close()
    left = sorted(p.name for p in (tmp_path / "copies").iterdir())
    assert left == [p.name for p in made[-3:]]  # the newest three
    assert left[-1] == "demo-20261206-023000.db"
    assert oct((tmp_path / "copies" / left[-1]).stat().st_mode)[-3:] == "600"
    assert len(receipts(tmp_path / "copies" / left[0])) == 1


async def test_run_copies_the_database_before_applying_a_new_migration(tmp_path):
    from bot.config import load_config

    config = load_config(config_in(tmp_path), environ={})
    database = tmp_path / "data" / "demo.db"
    db = await Database.open(database)
    await db.close()
    assert backup_before_upgrade(config, database) is None  # nothing new: no copy
    with sqlite3.connect(database) as conn:  # as if 0007 were new in this release
        conn.execute("DELETE FROM schema_migrations WHERE name = '0007_sensitive_consent'")
    copy = backup_before_upgrade(config, database)
    assert copy is not None and copy.name.endswith("-before-0007_sensitive_consent.db")
    assert "0007_sensitive_consent" not in files.check_copy(copy).migrations  # the old schema
    assert files.rotate(config.backup_dir, database, 0) == []  # never rotated out


def test_restore_swaps_in_the_copy_and_keeps_the_replaced_file(tmp_path, capsys):
    config = config_in(tmp_path)
    database = tmp_path / "data" / "demo.db"
    assert main(["backup", "--config", str(config)]) == 0  # empty: before any question
    copy = next((tmp_path / "copies").iterdir())
    import asyncio

    from bot.config import load_config
    from bot.runtime import open_runtime

    async def write() -> None:
        runtime = await open_runtime(load_config(config, environ={}))
        try:
            await ask(runtime, "lan", "xin hoi ve vay von chan nuoi bo sinh san o ban em")
        finally:
            await runtime.close()

    asyncio.run(write())
    assert receipts(database) == {"DEMO-000001"}
    assert main(["restore", str(copy), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert receipts(database) == set()
    aside = next(tmp_path.glob("data/demo.db.replaced-????????-??????"))
    assert receipts(aside) == {"DEMO-000001"} and str(aside) in out
    assert oct(aside.stat().st_mode)[-3:] == "600"
    assert sorted(p.name for p in (tmp_path / "data").iterdir() if "restoring" in p.name) == []


def test_restore_migrates_an_older_copy(tmp_path):
    config = config_in(tmp_path)
    old = tmp_path / "old.db"
    assert main(["migrate", "--config", str(config), "--db", str(old)]) == 0
    with sqlite3.connect(old) as conn:  # a copy from before 0007: without its columns
        conn.execute("DELETE FROM schema_migrations WHERE name = '0007_sensitive_consent'")
        for column in ("sensitive", "sensitive_consent_version", "sensitive_consent_at",
                       "sensitive_withdrawn_at"):
            conn.execute(f"ALTER TABLE questions DROP COLUMN {column}")
    assert main(["restore", str(old), "--config", str(config)]) == 0
    with sqlite3.connect(tmp_path / "data" / "demo.db") as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(questions)")}
    assert "sensitive_withdrawn_at" in columns


@pytest.mark.parametrize("damage", ["missing", "not a database", "scribbled", "from the future"])
def test_restore_refuses_a_bad_copy_and_changes_nothing(tmp_path, capsys, damage):
    config = config_in(tmp_path)
    database = tmp_path / "data" / "demo.db"
    assert main(["migrate", "--config", str(config)]) == 0
    before = database.read_bytes()
    copy = tmp_path / "copy.db"
    if damage == "not a database":
        copy.write_bytes(b"hello " * 1000)
    elif damage in ("scribbled", "from the future"):
        assert main(["backup", str(copy), "--config", str(config)]) == 0
        if damage == "scribbled":
            raw = bytearray(copy.read_bytes())
            raw[4096:8192] = b"\x07" * 4096
            copy.write_bytes(bytes(raw))
        else:
            with sqlite3.connect(copy) as conn:
                conn.execute("INSERT INTO schema_migrations VALUES ('9999_next_year', '')")
    assert main(["restore", str(copy), "--config", str(config)]) == 2
    assert "Nothing was changed" in capsys.readouterr().err
    assert database.read_bytes() == before and not list(tmp_path.glob("data/*.replaced-*"))


def test_restore_refuses_while_a_bot_holds_the_database(tmp_path, capsys):
    config = config_in(tmp_path)
    database = tmp_path / "data" / "demo.db"
    assert main(["migrate", "--config", str(config)]) == 0
    copy = tmp_path / "copy.db"
    assert main(["backup", str(copy), "--config", str(config)]) == 0
    before = database.read_bytes()
    with instance_lock(database):  # what `run` holds for as long as it runs
        assert main(["restore", str(copy), "--config", str(config)]) == 3
    assert "dừng bot" in capsys.readouterr().err
    assert database.read_bytes() == before and not list(tmp_path.glob("data/*.replaced-*"))


async def test_a_scheduled_copy_after_her_deletion_has_none_of_her_words(tmp_path):
    from bot.config import load_config
    from bot.runtime import open_runtime

    config = load_config(config_in(tmp_path), environ={})
    clock = Clock()
    runtime = await open_runtime(config, clock=clock)
    word = "Khuổi Phạc"
    try:
        await ask(runtime, "lan", f"em o ban {word} muon hoi vay von chan nuoi bo sinh san")
        before = await backup_now(runtime.db, config)
        member = Member(runtime, user="lan")
        await member.send("/xoa_du_lieu")
        await member.press("Xóa thông tin")
        clock.now += dt.timedelta(days=1)
        after = await backup_now(runtime.db, config)
    finally:
        await runtime.close()
    assert word.encode() in before.read_bytes()  # the attack has something to find
    assert word.encode() not in after.read_bytes()


def test_a_restore_does_not_bring_back_a_member_who_deleted_her_data_after_the_backup(
        tmp_path, capsys):
    import asyncio

    from bot.config import load_config
    from bot.runtime import open_runtime

    config = config_in(tmp_path)
    word, other = "Khuổi Phạc", "Nà Tăm Kéo"

    async def before_and_after(copy: Path) -> None:
        runtime = await open_runtime(load_config(config, environ={}), clock=Clock())
        try:
            await ask(runtime, "dung", f"em o ban {word} muon hoi vay von chan nuoi bo sinh san")
            await ask(runtime, "mai", f"em o ban {other} muon hoi ve nuoc sach cho ca thon")
            await runtime.db.backup(copy)
            dung = Member(runtime, user="dung")
            await dung.send("/xoa_du_lieu")
            await dung.press("Xóa thông tin")
        finally:
            await runtime.close()

    copy = tmp_path / "copy.db"
    asyncio.run(before_and_after(copy))
    assert word.encode() in copy.read_bytes()  # the copy has her words: the attack can fail
    assert main(["restore", str(copy), "--config", str(config)]) == 0
    assert "Đã xóa lại 1 mục" in capsys.readouterr().out
    database = tmp_path / "data" / "demo.db"
    for path in (database, Path(f"{database}-wal")):
        if path.exists():
            assert word.encode() not in path.read_bytes(), path
    with sqlite3.connect(database) as conn:
        texts = [row[0] for row in conn.execute("SELECT text FROM questions ORDER BY id")]
        users = {row[0] for row in conn.execute("SELECT external_id FROM users")}
    assert texts[0] == "" and other in texts[1]  # hers erased, Mai's kept
    assert "dung" not in users and "mai" in users


def test_a_restore_onto_another_installations_database_erases_nobody_and_says_so(
        tmp_path, capsys):
    config = config_in(tmp_path)
    copy = tmp_path / "copy.db"
    assert main(["migrate", "--config", str(config), "--db", str(copy)]) == 0
    with sqlite3.connect(copy) as conn:
        conn.execute("INSERT INTO users (channel, external_id, chat_id, consent_at, created_at) "
                     "VALUES ('terminal', 'lan', 'lan', '2026-01-01', '2026-01-01')")
    with sqlite3.connect(copy) as conn:  # another install: its first migration, another time
        conn.execute("UPDATE schema_migrations SET applied_at = 'another' "
                     "WHERE name = '0001_initial'")
    assert main(["migrate", "--config", str(config)]) == 0  # this installation, empty
    assert main(["restore", str(copy), "--config", str(config)]) == 0
    assert "could not be redone" in capsys.readouterr().err
    with sqlite3.connect(tmp_path / "data" / "demo.db") as conn:
        assert [r[0] for r in conn.execute("SELECT external_id FROM users")] == ["lan"]
