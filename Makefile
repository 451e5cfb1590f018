# Folio: the two commands that matter are `make run` and `make test`.
# Everything installs into .venv from the pinned requirements files.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: run serve cluster seed bench test lint format migrate upgrade check-migrations openapi clean help

help:
	@echo "make run      start the dev server on http://$(HOST):$(PORT) (SQLite by default; PORT=, HOST= change it)"
	@echo "make serve    production shape in the foreground: nginx on 127.0.0.1:\$${PORT:-8080} in front of gunicorn"
	@echo "make cluster  make serve with two instances and a streaming replica of DATABASE_URL (unset: of a throwaway primary)"
	@echo "make test     run the suite on SQLite, then on PostgreSQL/Redis when configured, with"
	@echo "              branch coverage: about 25 min on a quiet 2-core machine, 50 on a busy one"
	@echo "make test-quick  the in-process tests on SQLite, while you work (1.5 min quiet, 2.5 busy)"
	@echo "make lint     ruff"
	@echo "make requirements  recompile the pinned requirements*.txt from requirements*.in (pip-tools)"
	@echo "make migrate  autogenerate a migration: make migrate m='add posts'"
	@echo "make check-migrations  fail if the models and migrations differ (flask db check)"
	@echo "make openapi  regenerate docs/openapi.json from the code (a test fails when it is stale)"
	@echo "make bench    benchmark Folio and a hand-written floor on PostgreSQL (BENCH_ARGS='--size 10000')"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

$(VENV)/.bench: bench/requirements.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r bench/requirements.txt
	@touch $@

# The debugger and reloader stay off unless asked for: `FLASK_DEBUG=1 make run`.
# `flask dev` is `flask run` in one process (one app import), after upgrading the
# database when it is behind and seeding a small demo data set when it is empty.
run: $(VENV)/.runtime
	$(BIN)/flask dev --host $(HOST) --port $(PORT)

# Production's shape, locally: nginx in front of gunicorn (deploy/serve.py), from
# the production environment (APP_ENV=production, DATABASE_URL, secrets, ...).
# Needs nginx (Debian package nginx); installs nothing system-wide. Ctrl-C stops both.
serve: $(VENV)/.runtime
	$(BIN)/python deploy/serve.py

# Several instances and a replica, locally (deploy/cluster.py): a streaming replica
# of the PostgreSQL primary in DATABASE_URL (pg_basebackup; needs the server's
# binaries and a replication line in its pg_hba.conf), two gunicorn instances
# and nginx balancing them. Without DATABASE_URL (or CLUSTER_ARGS=--own-primary)
# it makes a throwaway primary with initdb first. Prints DATABASE_REPLICA_URLS.
# Ctrl-C stops them all.
cluster: $(VENV)/.runtime
	$(BIN)/python deploy/cluster.py $(CLUSTER_ARGS)

# Benchmarks are not tests: never part of `make test`. Needs PostgreSQL
# (BENCH_DATABASE_URL, default folio_bench on 127.0.0.1) and wrk (installed if missing).
bench: $(VENV)/.bench
	@command -v wrk >/dev/null || apt-get install -y wrk || { echo "install wrk"; exit 1; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Both runs measure branch coverage of app/ and the end prints its summary
# (tools/test_matrix.py); PYTEST_ARGS=--no-cov leaves it out. Durations (Dec 2026,
# 2 cores shared with four other suites, load 5 to 10): the SQLite run took 6 min
# for the in-process tests and 19 for the rest (4 of them Schemathesis); the
# PostgreSQL run is about as long. Quiet estimate from the CPU time (10 min a run).
test: $(VENV)/.dev
	$(BIN)/python tools/test_matrix.py $(PYTEST_ARGS)

# SQLite only, no slow tests and nothing that starts another process (servers,
# CLIs, the browser, Schemathesis): what to run while working. `make test` is
# still the whole story (CI runs it). No coverage here: it doubles the CPU time.
test-quick: $(VENV)/.dev
	env -u TEST_DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest -q -m "not slow and not processes" $(PYTEST_ARGS)

# The *.in files name what Folio uses, pinned; pip-tools writes every transitive
# pin into the *.txt files that installs read. Run after changing a *.in file.
COMPILE := $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links
requirements: $(VENV)/.dev
	$(COMPILE) --output-file requirements.txt requirements.in
	$(COMPILE) --output-file requirements-dev.txt requirements-dev.in

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.runtime
	$(BIN)/flask db migrate -m "$(m)"

upgrade: $(VENV)/.runtime
	$(BIN)/flask db upgrade

# Folio's `flask db check` builds a scratch database from the migrations and
# compares the models with it (app/migration_check.py): any state will do.
check-migrations: $(VENV)/.runtime
	$(BIN)/flask db check

openapi: $(VENV)/.runtime
	@mkdir -p docs
	$(BIN)/flask openapi write docs/openapi.json

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache .ruff_cache
