# Quick start: `make chat` (set up, then talk to the bot in the terminal) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: chat run test test-slow lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

chat: $(VENV)/.installed
	$(PY) -m bot chat

run: $(VENV)/.installed
	$(PY) -m bot run

test: $(VENV)/.installed
	$(PY) -m pytest -q
	$(VENV)/bin/ruff check .

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
	$(PY) bench/danger_speed.py
