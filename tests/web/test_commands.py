"""`python -m bot user …`: accounts from the command line, the password from stdin."""

from __future__ import annotations

import asyncio

from storage.db import Database
from tests.fakes.cli import wide_open_config


def test_user_add_list_disable(cli, tmp_path):
    config, db = str(wide_open_config(tmp_path)), str(tmp_path / "u.db")

    def user(*args: str, stdin: str = ""):
        return cli("user", *args, "--config", config, "--db", db, stdin=stdin)

    assert user("add", "lan", "--role", "staff", stdin="mat-khau-dai-1\n").returncode == 0
    again = user("add", "lan", "--role", "staff", stdin="mat-khau-dai-1\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert user("add", "ngan", "--role", "staff", stdin="ngan\n").returncode == 2
    no_department = user("add", "so", "--role", "department", stdin="mat-khau-dai-1\n")
    assert no_department.returncode == 2
    unknown = user("add", "so", "--role", "department", "--department", "so-khong-co",
                   stdin="mat-khau-dai-1\n")
    assert unknown.returncode == 2 and "so-tai-chinh" in unknown.stderr
    assert user("add", "taichinh", "--role", "department", "--department", "so-tai-chinh",
                stdin="mat-khau-dai-1\n").returncode == 0
    listed = user("list").stdout
    assert "lan\tstaff\t-\tactive" in listed and "taichinh\tdepartment\tso-tai-chinh" in listed
    assert user("disable", "lan").returncode == 0
    assert "lan\tstaff\t-\tdisabled" in user("list").stdout
    assert user("disable", "khong-co").returncode == 1

    async def stored() -> tuple[list, list]:
        database = await Database.open(db)
        try:
            async with database.transaction() as conn:
                hashes = await conn.execute_fetchall(
                    "SELECT password_hash FROM console_accounts")
                audit = await conn.execute_fetchall("SELECT action, detail FROM audit_log")
            return [r[0] for r in hashes], [tuple(r) for r in audit]
        finally:
            await database.close()

    hashes, audit = asyncio.run(stored())
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert ("user_add", "lan (staff)") in audit and ("user_disable", "lan") in audit
