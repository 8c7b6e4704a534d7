"""Shared fixtures: the shipped config, a fixed clock inside the open dialogue, a fresh database."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.runtime import open_runtime  # noqa: E402
from tests.fakes.cli import Cli, cli_runner  # noqa: E402

# 1 December 2026, 10:00 in Vietnam: the shipped Lai Châu 2027 dialogue is collecting.
FIXED_NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config():
    return load_config(ROOT / "config.toml", environ={})


@pytest.fixture
async def runtime(config, clock, tmp_path):
    rt = await open_runtime(config, tmp_path / "test.db", clock=clock)
    yield rt
    await rt.close()


STAFF_TELEGRAM_ID = "900"
STAFF_GROUP = "-1001"


@pytest.fixture
def staff_config(tmp_path):
    """The shipped config with a Telegram staff member and staff group, and a terminal
    leader configured for Xã Mường Tè."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace("staff_ids = []\nstaff_chat_id = 0",
                        f'staff_ids = [{STAFF_TELEGRAM_ID}]\nstaff_chat_id = {STAFF_GROUP}', 1)
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    # These tests check what chat carries with texts on; the shipped default (off: counts,
    # case numbers, console links) is tested in tests/web/test_chat_privacy.py.
    text = text.replace("\ntexts_in_chat = false", "\ntexts_in_chat = true", 1)
    text += '\n[[leaders]]\nchannel = "terminal"\nuser_id = "chi-hoi"\ncommune = "Xã Mường Tè"\n'
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


@pytest.fixture
async def staff_runtime(staff_config, clock, tmp_path):
    rt = await open_runtime(staff_config, tmp_path / "staff.db", clock=clock)
    yield rt
    await rt.close()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """`python -m bot ARGS` run in this process (tests/fakes/cli.py)."""
    return cli_runner(monkeypatch, capsys)


@pytest.fixture(autouse=True)
def _logging_as_it_was():
    """`main()` run in this process sets up logging for the process (a handler on the test's
    captured stderr, quieter levels): put it back, so no later test logs into a closed stream
    or misses the records it looks for."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: lg.level for name, lg in logging.root.manager.loggerDict.items()
              if isinstance(lg, logging.Logger)}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lg in list(logging.root.manager.loggerDict.items()):
        if isinstance(lg, logging.Logger):
            lg.setLevel(levels.get(name, logging.NOTSET))


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs to fill (tests/fakes/full_disk.py); skipped where mounting is refused."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)
