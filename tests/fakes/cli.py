"""The command line in this process: `python -m bot ARGS` through `main(argv)`, with piped
stdin and extra environment, as fast as a function call (a process start costs seconds)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Result]


def wide_open_config(tmp_path: Path) -> Path:
    """The shipped config with the demo dialogue open whatever day the tests run."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace("opens = 2026-11-01\ncloses = 2027-07-15",
                        "opens = 2020-01-01\ncloses = 2099-07-15", 1)
    text = text.replace("answer_deadline = 2027-07-25\nsummary_deadline = 2027-07-31",
                        "answer_deadline = 2099-07-25\nsummary_deadline = 2099-07-31", 1)
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def cli_runner(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """`python -m bot ARGS` in this process, with piped stdin and extra environment."""

    def go(*args: str, stdin: str = "", env: dict | None = None) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as m:
            m.setattr(sys, "stdin", io.StringIO(stdin))
            for key, value in (env or {}).items():
                m.setenv(key, value)
            umask = os.umask(0o022)
            os.umask(umask)
            try:
                code = main(list(args))
            finally:
                os.umask(umask)  # main() tightens it for the process; later tests need theirs
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return go


def real_process(*args: str, stdin: str = "") -> Result:
    """`python -m bot ARGS` as its own process: for what only a real start shows (its logging
    set up from nothing, the entry point itself)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return Result(done.returncode, done.stdout, done.stderr)
