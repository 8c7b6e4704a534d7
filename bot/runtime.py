"""Wiring: config → database → services → flows → dispatcher. Shared by every channel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from handlers.ask_question import AskQuestion
from handlers.engine import Dispatcher, Flow, Services
from handlers.escalation import Safety, escalate_danger
from handlers.leader import Leader
from handlers.locale import Locale
from handlers.my_data import MyData
from handlers.safety import DangerDetector
from handlers.sensitive import SensitiveConsent, SensitiveWords
from handlers.staff import Staff
from handlers.whoami import WhoAmI
from storage.clock import Clock, system_clock
from storage.db import Database
from storage.spool import AlertSpool

from .communes import commune_loader
from .config import Config
from .matching import MatchSettings, QuestionMatcher
from .staff_tools import StaffTools

__all__ = ["Runtime", "match_settings", "open_runtime"]


@dataclass
class Runtime:
    config: Config
    db: Database
    services: Services
    dispatcher: Dispatcher
    spool: AlertSpool  # danger alerts the database could not take, until they land

    async def close(self) -> None:
        await self.db.close()


async def open_runtime(
    config: Config,
    database: Path | str | None = None,
    clock: Clock = system_clock,
) -> Runtime:
    """The one place that picks the clock: flows, storage, outbox and digest all read it."""
    db = await Database.open(database or config.database, clock)
    try:
        return await _assemble(config, db, clock)
    except BaseException:
        await db.close()  # its worker thread would otherwise keep the process alive
        raise


async def _assemble(config: Config, db: Database, clock: Clock) -> Runtime:
    locale = Locale.load(config.locale)
    detector = DangerDetector.from_files()  # a broken table stops start-up, naming its line
    matcher = QuestionMatcher(match_settings(config))
    await matcher.load(db)
    services = Services(
        settings=config.settings,
        locale=locale,
        communes=commune_loader(config.communes_add, config.communes_rename,
                                config.communes_legacy),
        tools=StaffTools(config.settings, locale),
        danger=detector,
        sensitive=SensitiveWords.from_file().kinds,
        matcher=matcher,
        clock=clock,
    )
    flows: list[Flow] = [Staff(), Leader(), MyData(), Safety(), SensitiveConsent(), WhoAmI(),
                         AskQuestion()]
    spool = AlertSpool.beside(db.path)
    dispatcher = Dispatcher(db, services, flows, screens=[escalate_danger], alerts=spool)
    return Runtime(config, db, services, dispatcher, spool)


def match_settings(config: Config) -> MatchSettings:
    return MatchSettings(similar_threshold=config.similar_threshold,
                         join_threshold=config.join_threshold,
                         review_threshold=config.review_threshold)
