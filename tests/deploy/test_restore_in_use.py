"""Red-team attack (redteam.md, promise 4, side observation): `restore` while `bot web` runs on
the same database was not refused, and the console kept serving (and writing into) the file
restore had set aside. Restore is refused while another process has the database open, naming
it; once that process stops, the same restore goes through."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.cli import ROOT, wide_open_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(port: int, console: subprocess.Popen) -> None:
    for _ in range(600):
        assert console.poll() is None, console.communicate()
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError("the console never came up")


@pytest.mark.parametrize("alias", ["none", "console", "restore"])
def test_restore_is_refused_while_the_console_has_the_database_open(tmp_path, cli, alias):
    """Red-team pass 2: through a symlink (`alias.db` -> `live.db`), restore replaced the link
    and said "restored" while the console kept serving the real file."""
    config = wide_open_config(tmp_path)
    real = tmp_path / "live.db"
    assert cli("migrate", "--config", str(config), "--db", str(real)).returncode == 0
    (tmp_path / "alias.db").symlink_to(real)
    served = tmp_path / "alias.db" if alias == "console" else real
    database = tmp_path / "alias.db" if alias == "restore" else real
    backup = tmp_path / "copy.db"
    assert cli("backup", str(backup), "--config", str(config), "--db",
               str(database)).returncode == 0
    port = _free_port()
    console = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--config", str(config), "--db", str(served),
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_healthy(port, console)
        refused = cli("restore", str(backup), "--config", str(config), "--db", str(database))
    finally:
        console.terminate()
        console.wait(30)
    assert refused.returncode == 3
    assert " web " in refused.stderr and f"pid {console.pid}" in refused.stderr  # named
    assert "Nothing was changed" in refused.stderr
    assert not list(Path(tmp_path).glob("live.db.replaced-*"))  # nothing set aside
    done = cli("restore", str(backup), "--config", str(config), "--db", str(database))
    assert done.returncode == 0, done.stderr  # the console stopped: the same restore works
    assert (tmp_path / "alias.db").is_symlink()  # the link still finds the restored file
