# The two commands in the README are the contract: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
NEWSROOM ?= newsroom.example.toml

.PHONY: run test lint typecheck pytest pytest-postgres setup clean bench translations browser-deps lock

## Install into .venv exactly what the lock pins, hashes checked (again when the lock changes).
## The build tools are pinned there too, so intake itself is built without build isolation;
## pip check fails if pyproject.toml gained a dependency that the lock does not have yet.
$(VENV)/.installed: requirements-dev.lock pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "intake needs Python 3.11 or newer"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $@

## Pin every package again after a change to pyproject.toml's dependencies (Python 3.11 only);
## LOCK_ARGS=--upgrade takes the newest releases, LOCK_ARGS="--upgrade-package NAME" one of them.
lock:
	PYTHON=$(PYTHON) scripts/lock.sh $(LOCK_ARGS)

## Compile the readers' message catalogues (the .po files are in git, the .mo files are not).
MO := $(patsubst %.po,%.mo,$(wildcard intake/translations/*/LC_MESSAGES/messages.po))
%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@ --use-fuzzy -f >/dev/null

translations: $(MO)

setup: $(VENV)/.installed $(MO)

## A local .env: development settings and a random secret key, written once.
.env:
	@printf 'INTAKE_ENV=development\nSECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))')" > $@
	@chmod 600 $@
	@echo "Wrote .env (development settings, a new SECRET_KEY)."

## Set up, upgrade the database, load the example newsroom and serve it.
run: setup .env
	$(FLASK) db upgrade
	$(FLASK) intake load-newsroom $(NEWSROOM)
	@echo
	@echo "intake is serving on http://$(HOST):$(PORT)/  (the public form)"
	@echo "Submissions are stored in instance/intake.sqlite3;"
	@echo "  see them with: $(FLASK) intake export --format jsonl"
	@echo "Emails go through the outbox worker; without MAIL_SERVER they land in instance/mail/."
	@echo "Stop with Ctrl-C."
	@echo
	HOST=$(HOST) PORT=$(PORT) scripts/run.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

## What the browser tests need: Debian's Chromium, and axe-core from the npm registry.
CHROMIUM := /usr/bin/chromium
AXE := node_modules/axe-core/axe.min.js

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Chromium at $(CHROMIUM)"; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser-deps: $(CHROMIUM) $(AXE)

## What the mail-in tests need: Debian's Dovecot IMAP server (the tests start their own).
DOVECOT := /usr/sbin/dovecot

$(DOVECOT):
	@command -v apt-get >/dev/null || { echo "install Dovecot's IMAP server at $(DOVECOT)"; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null

pytest: setup browser-deps $(DOVECOT)
	$(BIN)/pytest -q

## The same suite on a throwaway PostgreSQL cluster (installed with apt-get if missing).
pytest-postgres: setup browser-deps $(DOVECOT)
	scripts/with-postgres.sh $(BIN)/pytest -q -p no:cacheprovider

## Set up and run the whole suite: lint, types, tests on SQLite, then on PostgreSQL.
test: lint typecheck pytest pytest-postgres

## Benchmarks (not part of `make test`): results go in bench/RESULTS.md by hand.
bench: setup
	bench/run.sh

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .ruff_cache .pytest_cache node_modules tests/artifacts
