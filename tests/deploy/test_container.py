"""The container image's entrypoint, started as Docker would start it (without Docker), on a
fresh directory with the demo config; the health check; the systemd unit's command."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from storage.lock import instance_lock
from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instruction(name: str) -> list[str]:
    """ENTRYPOINT / CMD of the Dockerfile, in exec (JSON) form, /app mapped to the checkout."""
    match = re.search(rf"^{name}\s+(\[.*\])\s*$", DOCKERFILE, re.MULTILINE)
    assert match, f"Dockerfile has no exec-form {name}"
    return [part.replace("/app/", f"{ROOT}/") for part in json.loads(match[1])]


def fresh(tmp_path: Path) -> dict[str, str]:
    """A new server's directory with the demo config in it, and the image's environment."""
    text = (ROOT / "config.demo.toml").read_text(encoding="utf-8")
    config = tmp_path / "config.demo.toml"
    config.write_text(text.replace('locale = "locales/vi.toml"',
                                   f'locale = "{ROOT}/locales/vi.toml"'), encoding="utf-8")
    return {"PATH": os.environ["PATH"], "PYTHON": sys.executable,
            "DOITHOAI_CONFIG": str(config), "HOME": str(tmp_path)}


def test_the_entrypoint_comes_up_on_a_fresh_directory_with_the_demo_config(tmp_path):
    env = fresh(tmp_path)
    started = subprocess.run(
        [*instruction("ENTRYPOINT"), "demo"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120,
        input="/start\n1\nnam tam\n1\nvay von lam kinh te chan nuoi lon o thon em\n2\n1\n/id\n")
    assert started.returncode == 0, started.stderr
    assert "Đối thoại thử" in started.stdout and "DEMO-000001" in started.stdout
    assert "Mã số (id) của chị trên Terminal: demo" in started.stdout
    assert (tmp_path / "data" / "demo.db").is_file()  # its own database, made at start-up
    # The image's default command is `run`, which refuses the demo config and says why.
    refused = subprocess.run([*instruction("ENTRYPOINT"), *instruction("CMD")], cwd=tmp_path,
                             env=env | {"TELEGRAM_BOT_TOKEN": "123:ABC"}, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2 and "cấu hình chạy thử" in refused.stderr


def test_the_health_check_says_whether_a_bot_holds_the_database(tmp_path):
    database = tmp_path / "doithoai.db"
    database.touch()
    check = [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), str(database)]
    assert subprocess.run(check, timeout=30).returncode == 1  # no bot
    with instance_lock(database):  # what `run` holds while it runs
        assert subprocess.run(check, timeout=30).returncode == 0
    assert subprocess.run(check, timeout=30).returncode == 1
    assert subprocess.run([*check[:2], str(tmp_path / "none.db")], timeout=30).returncode == 1


def test_compose_and_the_unit_start_the_bot_through_the_same_entrypoint():
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    unit = (ROOT / "deploy" / "doithoai-bot.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/doithoai-bot/deploy/entrypoint.sh run" in unit
    assert "RestartPreventExitStatus=2 3" in unit and "EnvironmentFile=" in unit
    assert "http://127.0.0.1:8080/healthz" in compose  # the console's health: no token
    assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{20,}", compose + unit + DOCKERFILE)
    assert "requirements.lock" in DOCKERFILE and "--require-hashes" in DOCKERFILE


@pytest.mark.slow
def test_the_console_command_of_compose_comes_up_and_answers_healthz(tmp_path):
    from bot.cli import COMMANDS

    if "web" not in COMMANDS:
        pytest.skip("the web console (python -m bot web) is not on this branch")
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    command = json.loads(re.search(r'command: (\["web".*\])', compose)[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [str(port) if part == "8080" else part for part in command]
    command = ["127.0.0.1" if part == "0.0.0.0" else part for part in command]
    env = fresh(tmp_path)
    console = subprocess.Popen([*instruction("ENTRYPOINT"), *command], cwd=tmp_path, env=env)
    try:
        for _ in range(300):  # up to ~30 s on a loaded machine
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    return
            except OSError:
                assert console.poll() is None, "the console exited"
                time.sleep(0.1)
        pytest.fail("no answer on /healthz")
    finally:
        console.terminate()
        console.wait(10)
