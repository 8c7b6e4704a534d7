"""The lock files: every dependency pyproject.toml declares is pinned there, within its floor.

A dependency added to pyproject.toml without `make lock` would install nowhere (the venv, CI and
the container install only from the locks): this says so before a fresh machine does.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def pins(lock: str) -> dict[str, str]:
    """name → version pinned for this Python (a universal lock may pin per Python version)."""
    out = {}
    for line in (ROOT / lock).read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match and (not match[3] or Marker(match[3]).evaluate()):
            out[canonicalize_name(match[1])] = match[2]
    return out


@pytest.mark.parametrize(("lock", "requirements"), [
    ("requirements.lock", PYPROJECT["dependencies"]),
    ("requirements-test.lock",
     PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["test"]),
])
def test_every_declared_dependency_is_locked_within_its_floor(lock, requirements):
    locked = pins(lock)
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock} pins {name}=={locked[name]}, outside {requirement.specifier}: `make lock`")


def test_the_locks_carry_hashes_so_a_changed_file_on_the_index_is_refused():
    for lock in ("requirements.lock", "requirements-test.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        assert text.count("==") <= text.count("--hash=sha256:"), lock
