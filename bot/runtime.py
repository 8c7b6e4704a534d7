"""Wiring: config → database → services → flows → dispatcher. Shared by every channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from handlers.ask_question import AskQuestion
from handlers.engine import Dispatcher, Services
from handlers.locale import Locale
from storage.db import Database

from .communes import commune_loader
from .config import Config

__all__ = ["Runtime", "open_runtime"]


@dataclass
class Runtime:
    config: Config
    db: Database
    services: Services
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.db.close()


async def open_runtime(
    config: Config,
    database: Path | str | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Runtime:
    db = await Database.open(database or config.database)
    services = Services(
        settings=config.settings,
        locale=Locale.load(config.locale),
        communes=commune_loader(config.communes_add, config.communes_rename),
        **({"clock": clock} if clock else {}),
    )
    flows = [AskQuestion()]
    return Runtime(config, db, services, Dispatcher(db, services, flows))
