# Tessera: `make demo` runs the whole portal on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
CHAIN_PORT ?= 8545
ANVIL := node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export PORT CHAIN_PORT

.PHONY: help install install-dev demo demo-reset serve test lint typecheck pytest contracts static otp chromium clean

help:
	@echo "make demo   install everything and start the portal with demo data on http://127.0.0.1:$(PORT)/"
	@echo "make test   install everything and run the whole test suite (lint, types, unit, chain, browser)"
	@echo "make contracts   recompile the Solidity contracts into tokens/contracts/build/"
	@echo "make otp    print the demo accounts' current authenticator code"
	@echo "make serve  run the production topology (Procfile.production) with the settings in .env or the environment"
	@echo "make demo-reset   delete the demo's database, chain state and uploads under var/"

$(VENV)/.runtime: requirements.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# `npm ci` installs exactly the lock and never rewrites it (the lock lists anvil's packages for
# every platform; npm installs only this one's).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@test -x $(ANVIL) || { echo "anvil binary missing at $(ANVIL)"; exit 1; }
	@touch $@

static/vendor/.built: node_modules/.installed scripts/build_static.js
	node scripts/build_static.js
	@touch $@

static: static/vendor/.built

# Debian's Chromium for the browser tests (never a browser download of a test tool's own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium package for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

install: $(VENV)/.runtime node_modules/.installed static/vendor/.built
	@mkdir -p var

install-dev: install $(VENV)/.dev chromium

# The demo screens against the OFAC fixture list (offline, and the six-hourly refresh keeps it).
DEMO_ENV := CHAIN_RPC_URL=http://127.0.0.1:$(CHAIN_PORT) SANCTIONS_LIST_URL=$(CURDIR)/compliance/fixtures/ofac
DEMO_DATA := var/tessera.sqlite3 var/tessera.sqlite3-wal var/tessera.sqlite3-shm var/celery-broker.sqlite3 \
	var/celery-broker.sqlite3-wal var/celery-broker.sqlite3-shm var/anvil-state.json var/celerybeat-schedule \
	var/celerybeat-schedule.db var/celerybeat-schedule.dat var/celerybeat-schedule.dir var/celerybeat-schedule.bak

# Seeds what needs no chain, then starts web, worker, beat, anvil and `setup` (Procfile), which
# finishes the chain-dependent part once the chain and a worker run and prints "Demo ready".
demo: install
	$(PY) manage.py migrate --noinput -v0
	$(DEMO_ENV) $(PY) manage.py demo_seed --url http://127.0.0.1:$(PORT)
	@echo "Starting web (http://127.0.0.1:$(PORT)/), Celery worker and beat, and anvil on port $(CHAIN_PORT). Ctrl-C stops them all."
	$(DEMO_ENV) DEMO_URL=http://127.0.0.1:$(PORT) $(VENV)/bin/honcho start -f Procfile

# Production settings from the environment or .env (honcho reads it; README "Deploying" lists them): migrate,
# collect the static files, then gunicorn, one worker per queue and beat.
PROD := DJANGO_SETTINGS_MODULE=portal.settings.production
serve: install
	$(PROD) $(VENV)/bin/honcho run $(PY) manage.py migrate --noinput
	$(PROD) $(VENV)/bin/honcho run $(PY) manage.py collectstatic --noinput -v0
	$(PROD) $(VENV)/bin/honcho start -f Procfile.production

demo-reset:
	rm -f $(DEMO_DATA)
	rm -rf var/private
	@echo "Demo data deleted; \`make demo\` starts from scratch."

otp: install
	@$(PY) manage.py demo_otp

contracts: node_modules/.installed
	node tokens/contracts/compile.js

lint: install-dev typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install-dev
	$(VENV)/bin/mypy core portal investors compliance offerings registry distributions governance backing redemptions transfers tokens demo e2e bench conftest.py

# The suite runs on every core (pytest-xdist), a test file per worker at a time so that a file's fixtures are
# built once; TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= auto
pytest: install-dev
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

test: lint pytest

clean:
	rm -rf var/test-* .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .grimp_cache static/vendor staticfiles
