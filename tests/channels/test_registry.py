"""The registry is the one list of channels: config, run and webhook see the same ones."""

from __future__ import annotations

from bot.channels.base import Channel
from bot.channels.registry import CHANNELS, NAMES
from bot.config import Secret
from bot.service import enabled_channels


def test_run_starts_exactly_the_channels_with_a_token(config):
    assert enabled_channels(config) == []
    with_zalo = config.with_channel("zalo", token=Secret("1:z"))
    assert enabled_channels(with_zalo) == ["zalo"]
    both = with_zalo.with_channel("telegram", token=Secret("1:t"))
    assert enabled_channels(both) == ["telegram", "zalo"]
    assert "1:t" in both.secrets() and "1:z" in both.secrets()
    assert "terminal" in NAMES and "terminal" not in enabled_channels(both)


async def test_each_adapter_offers_the_port(runtime, config):
    runtime.config = config.with_channel("telegram", token=Secret("123:T")).with_channel(
        "zalo", token=Secret("1:z"))
    for spec in CHANNELS:
        if spec.open is None:
            continue
        channel = spec.open(runtime)
        try:
            assert isinstance(channel, Channel) and channel.name == spec.name
            assert channel.outbox.channel == spec.name
        finally:
            await channel.stop()  # never started: closes what construction opened
