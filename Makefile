# Folio: the two commands that matter are `make run` and `make test`.
# Everything installs into .venv from the pinned requirements files.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: run test lint format migrate upgrade openapi clean help

help:
	@echo "make run      start the dev server on http://$(HOST):$(PORT) (SQLite by default)"
	@echo "make test     run the suite on SQLite, then on PostgreSQL/Redis when configured"
	@echo "make lint     ruff"
	@echo "make migrate  autogenerate a migration: make migrate m='add posts'"
	@echo "make openapi  regenerate docs/openapi.json from the code (a test fails when it is stale)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

# The debugger stays off unless asked for: `FLASK_DEBUG=1 make run`.
run: $(VENV)/.runtime
	$(BIN)/flask db upgrade
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: $(VENV)/.dev
	$(BIN)/python tools/test_matrix.py $(PYTEST_ARGS)

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

openapi: $(VENV)/.runtime
	@mkdir -p docs
	$(BIN)/flask openapi write docs/openapi.json

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache .ruff_cache
