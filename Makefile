# Two commands: `make demo` installs safeguard and runs the demo; `make test` runs the tests.
# The demo installs the base package only; the tests add every extra and the dev tools.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SOURCES := pyproject.toml setup.py src/safeguard/index/_mih.c src/safeguard/index/_votes.c \
	src/safeguard/index/_tree.c src/safeguard/index/_buffers.h src/safeguard/signals/_pdq.c \
	src/safeguard/pathways/_trees.c

.PHONY: install install-dev demo test lint bench screenshots

$(VENV)/.installed-base: $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed-base $@

install: $(VENV)/.installed-base

install-dev: $(VENV)/.installed-dev

demo: install
	$(VENV)/bin/safeguard demo

lint: install-dev
	$(PY) -m ruff check src tests bench tools
	$(PY) -m ruff format --check src tests bench tools
	$(PY) -m mypy

# the suite starts a few hundred safeguard processes: they share compiled modules
# (__pycache__) even where PYTHONDONTWRITEBYTECODE is set
test: lint
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest

bench: install-dev
	$(PY) bench/hashing.py
	$(PY) bench/index.py --size 1000000 --queries 2000

# the web UI's screenshots in docs/ui.md, taken by its browser tests in Debian's Chromium
screenshots: install-dev
	SAFEGUARD_SCREENSHOTS=docs/ui $(PY) -m pytest tests/web/test_browser.py -k every_page -n 0 -q
