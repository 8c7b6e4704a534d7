"""The config.toml shipped with the bot, as text for tests to edit one value of."""

from __future__ import annotations

from tests.conftest import ROOT

SHIPPED = (ROOT / "config.toml").read_text(encoding="utf-8")
