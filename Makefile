# Quick start: `make chat` (set up, then talk to the bot in the terminal) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: chat run test lint bench

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

bench: $(VENV)/.installed
	$(PY) bench/throughput.py
	$(PY) bench/matching.py
	$(PY) bench/cluster_quality.py
	$(PY) bench/notify.py
	$(PY) bench/danger_quality.py
