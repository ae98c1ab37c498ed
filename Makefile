# Two commands: `make demo` installs safeguard and runs the demo; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench

$(STAMP): pyproject.toml setup.py src/safeguard/index/_mih.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/safeguard demo

lint: install
	$(PY) -m ruff check src tests bench tools
	$(PY) -m ruff format --check src tests bench tools

test: lint
	$(PY) -m pytest

bench: install
	$(PY) bench/hashing.py
	$(PY) bench/index.py --size 1000000 --queries 2000
