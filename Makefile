# Two commands: `make demo` installs safeguard and runs the demo; `make test` runs the tests.
# The demo installs the base package only; the tests add every extra and the dev tools.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SOURCES := pyproject.toml setup.py src/safeguard/index/_mih.c src/safeguard/index/_votes.c \
	src/safeguard/index/_tree.c src/safeguard/index/_buffers.h src/safeguard/signals/_pdq.c \
	src/safeguard/pathways/_trees.c

.PHONY: install install-dev demo test lint bench screenshots pathways-model

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

# the shipped pathways model: the simulator's seeds (safeguard pathways train's defaults) and
# populations of the two development generators (bench/pathways_dev, bench/pathways_dev2): each
# fits on 1-12 and calibrates on 21-29 (docs/pathways.md)
PATHWAYS_DEV := build/pathways-dev
PATHWAYS_DEV2 := build/pathways-dev2
PATHWAYS_DEV_FIT := 1 2 3 4 5 6 7 8 9 10 11 12
PATHWAYS_DEV_CAL := 21 22 23 24 25 26 27 28 29
pathways-model: install-dev
	for s in $(PATHWAYS_DEV_FIT) $(PATHWAYS_DEV_CAL); do \
		$(PY) bench/pathways_dev/generate.py --out $(PATHWAYS_DEV)/dev-$$s --seed $$s || exit 1; \
		$(PY) bench/pathways_dev2/generate.py --out $(PATHWAYS_DEV2)/dev2-$$s --seed $$s || exit 1; \
	done
	$(VENV)/bin/safeguard pathways train \
		$(foreach s,$(PATHWAYS_DEV_FIT),--data $(PATHWAYS_DEV)/dev-$(s)) \
		$(foreach s,$(PATHWAYS_DEV_FIT),--data $(PATHWAYS_DEV2)/dev2-$(s)) \
		$(foreach s,$(PATHWAYS_DEV_CAL),--calibration-data $(PATHWAYS_DEV)/dev-$(s)) \
		$(foreach s,$(PATHWAYS_DEV_CAL),--calibration-data $(PATHWAYS_DEV2)/dev2-$(s)) \
		--out src/safeguard/pathways/model/pathways-model.json
