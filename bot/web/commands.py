"""CLI commands of the console: `web` and `user` (registered with bot.cli's `@command`)."""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
from typing import TYPE_CHECKING

from ..cli import _db_option, _with_database, _with_runtime, command
from ..config import Config

if TYPE_CHECKING:
    from storage.db import Database

MIN_PASSWORD = 10
ROLES = ("staff", "department", "safety", "admin")


def _web_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to listen on (default: [web] host)")
    parser.add_argument("--port", type=int, default=None, help="port (default: [web] port)")
    _db_option(parser)


@command(_web_options)
def cmd_web(args: argparse.Namespace, config: Config) -> int:
    """Serve the web console for staff, departments and safety officers (docs/console.md).

    Accounts are made with `python -m bot user add`. Behind a reverse proxy with HTTPS in
    production; the console itself speaks plain HTTP on the address given.

    Example: python -m bot web --host 127.0.0.1 --port 8080
    """

    print(f"Console: http://{args.host or config.web.host}:{args.port or config.web.port}/",
          file=sys.stderr)
    return _with_runtime(config, args.db, lambda runtime: _serve(runtime, args))


async def _serve(runtime, args) -> int:
    from .server import serve_console

    await serve_console(runtime, args.host, args.port)
    return 0


def _user_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("add", "list", "disable"))
    parser.add_argument("login", nargs="?", help="the account's login name")
    parser.add_argument("--role", choices=ROLES, help="staff, department, safety or admin")
    parser.add_argument("--department",
                        help="for --role department: the id of its [[departments]] in config")
    _db_option(parser)


def _known_departments(config: Config) -> list[str]:
    """Ids of [[departments]] in config."""
    return [d.id for d in config.settings.departments]


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu: ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        return ""
    return first


@command(_user_options)
def cmd_user(args: argparse.Namespace, config: Config) -> int:
    """Console accounts: add, list, disable (add reads the password from standard input).

    The password is read from standard input when that is not a terminal. A disabled
    account's sessions end at once; its history stays in the audit log.

    Example: printf '%s\\n' "$PASSWORD" | python -m bot user add lan --role staff
    """
    if args.action in ("add", "disable") and not args.login:
        print(f"user {args.action} needs a LOGIN", file=sys.stderr)
        return 2
    if args.action == "add":
        return _add(args, config)

    async def work(db: Database) -> int:
        from storage import console as store

        async with db.transaction() as conn:
            if args.action == "list":
                for a in await store.accounts(conn):
                    state = "disabled" if a.disabled_at else "active"
                    print(f"{a.login}\t{a.role}\t{a.department or '-'}\t{state}")
                return 0
            if not await store.disable_account(conn, args.login, now=db.clock()):
                print(f"no account {args.login!r}", file=sys.stderr)
                return 1
            await store.audit(conn, "", "cli", "user_disable", now=db.clock(), detail=args.login)
        print(f"{args.login}: disabled")
        return 0

    return _with_database(config, args.db, work)


def _add(args: argparse.Namespace, config: Config) -> int:
    from .auth import Passwords

    if args.role is None:
        print("user add needs --role staff|department|safety|admin", file=sys.stderr)
        return 2
    if (args.role == "department") != bool(args.department):
        print("--department is needed with --role department, and only then", file=sys.stderr)
        return 2
    known = _known_departments(config)
    if args.department and args.department not in known:
        print(f"unknown department {args.department!r}. Known: {', '.join(known)}",
              file=sys.stderr)
        return 2
    password = _read_password()
    if len(password) < MIN_PASSWORD:
        print(f"the password must have at least {MIN_PASSWORD} characters", file=sys.stderr)
        return 2
    hashed = Passwords().hash(password)

    async def work(db: Database) -> int:
        from storage import console as store

        try:
            async with db.transaction() as conn:
                await store.create_account(conn, args.login, hashed, args.role,
                                           args.department, now=db.clock())
                await store.audit(conn, "", "cli", "user_add", now=db.clock(),
                                  detail=f"{args.login} ({args.role})")
        except sqlite3.IntegrityError:
            print(f"an account {args.login!r} already exists", file=sys.stderr)
            return 1
        print(f"{args.login}: {args.role} account created")
        return 0

    return _with_database(config, args.db, work)


__all__ = ["cmd_user", "cmd_web"]

