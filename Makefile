# Quick start: `make chat` (set up, then talk to the bot in the terminal) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: chat run test test-slow lint bench lock

# Installs the locked, hash-checked versions (requirements-test.lock = the app's
# requirements.lock plus the test tools), so a build today equals a build next month. The code
# runs from this directory: nothing is built or installed from it (no setuptools output).
$(VENV)/.installed: pyproject.toml requirements.lock requirements-test.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'pip>=25.3'
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements-test.lock
	touch $@

# After changing dependencies in pyproject.toml: regenerate both locks from PyPI (needs uv).
UV_COMPILE := uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11
lock:
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra test -o requirements-test.lock

# The demo: its own config (config.demo.toml) and database (data/demo.db), never production's.
chat: $(VENV)/.installed
	$(PY) -m bot demo

run: $(VENV)/.installed
	$(PY) -m bot run

# Two workers (pytest-xdist): the whole default suite in about half the time on 2 cores.
test: $(VENV)/.installed
	$(PY) -m pytest -q -n 2
	$(VENV)/bin/ruff check .
	$(PY) -m mypy

# Fault tests with real processes, kill -9 and a filled file system (CI runs them as a step).
test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -m slow

bench: $(VENV)/.installed
	$(PY) bench/throughput.py
	$(PY) bench/matching.py
	$(PY) bench/cluster_quality.py
	$(PY) bench/notify.py
	$(PY) bench/flood.py
	$(PY) bench/danger_quality.py
	$(PY) bench/backup.py
	$(PY) bench/danger_speed.py
