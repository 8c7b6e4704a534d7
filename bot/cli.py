"""The command line: `python -m bot SUBCOMMAND [--config PATH] …`.

Each subcommand is one small function whose docstring is its help text and ends with an example.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .config import Config, ConfigError, load_config
from .logs import setup_logging

__all__ = ["main"]

log = logging.getLogger("bot")

Command = Callable[[argparse.Namespace, Config], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None]]] = {}


def command(configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    def register(fn: Command) -> Command:
        COMMANDS[fn.__name__.removeprefix("cmd_")] = (fn, configure)
        return fn

    return register


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="database file (default: bot.database in config)")


# --- subcommands -------------------------------------------------------------------------------


def _chat_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default="demo", help="who you are in the chat (default: demo)")
    _db_option(parser)


@command(_chat_options)
def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    """Talk to the bot in the terminal, with no token and no network.

    Each line you type is one message; menus are numbered. Reads piped input too, one message a
    line, and exits at the end of it.

    Example: python -m bot chat --user lan
    """
    from .channels.terminal import run_terminal
    from .runtime import open_runtime

    async def go() -> int:
        runtime = await open_runtime(config, args.db)
        try:
            return await run_terminal(runtime, user=args.user)
        finally:
            await runtime.close()

    return asyncio.run(go())


@command(_db_option)
def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """Run the bot on every channel whose token is set (TELEGRAM_BOT_TOKEN, ZALO_BOT_TOKEN).

    Example: TELEGRAM_BOT_TOKEN=123:ABC python -m bot run
    """
    from .service import run_service

    if not config.telegram_token and not config.zalo_token:
        print(
            "Chưa có token nào. Đặt biến môi trường TELEGRAM_BOT_TOKEN (token từ @BotFather) "
            "và/hoặc ZALO_BOT_TOKEN rồi chạy lại, ví dụ:\n"
            "  export TELEGRAM_BOT_TOKEN=123456:ABC...\n  python -m bot run\n"
            "No bot token set: export TELEGRAM_BOT_TOKEN and/or ZALO_BOT_TOKEN. "
            "To try the bot without a token: python -m bot chat",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(run_service(config, args.db))


@command(_db_option)
def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    """Create the database or bring it up to date with storage/migrations.

    Example: python -m bot migrate
    """
    from storage.db import Database

    async def go() -> list[str]:
        db = await Database.open(args.db or config.database)
        await db.close()
        return await _applied(args.db or config.database)

    applied = asyncio.run(go())
    print(f"{args.db or config.database}: {len(applied)} migration(s): {', '.join(applied)}")
    return 0


async def _applied(path: Path) -> list[str]:
    import aiosqlite

    async with aiosqlite.connect(str(path)) as conn:
        cur = await conn.execute("SELECT name FROM schema_migrations ORDER BY name")
        return [r[0] for r in await cur.fetchall()]


# --- entry point -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Đối thoại bot: collects women's questions for the provincial dialogue.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (fn, configure) in COMMANDS.items():
        doc = (fn.__doc__ or "").strip()
        summary = doc.splitlines()[0] if doc else name
        p = sub.add_parser(name, help=summary, description=doc,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--config", type=Path, default=None,
                       help="config file (default: config.toml beside the code)")
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        configure(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # the database, its WAL and exports hold personal data
    args = build_parser().parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"Config error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args, config)
    except KeyboardInterrupt:
        return 130
