# renfang — the two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/renfang
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint check-types test-sqlite test-postgres bench bench-small bench-resolve bench-exchange demo messages clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "renfang needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

run: $(VENV)/.installed
	$(BIN)/renfang migrate --noinput
	$(BIN)/renfang demo --if-empty
	$(BIN)/renfang demo_users
	@# The audit chain's head, signed, outside the database (ADR 0019; in production: from cron,
	@# to another host): `renfang audit verify --anchors renfang-audit-anchors.jsonl` checks it.
	$(BIN)/renfang audit anchor
	@# The webhook worker (ADR 0016) runs beside the web server and stops when it stops.
	$(BIN)/renfang worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/renfang runserver --insecure --noreload $(HOST):$(PORT)

test: $(VENV)/.installed lint
	bash scripts/test-all

lint: $(VENV)/.installed
	$(BIN)/ruff check src scripts
	$(BIN)/lint-imports
	$(BIN)/mypy src

test-sqlite: $(VENV)/.installed
	env -u DATABASE_URL $(BIN)/pytest

test-postgres: $(VENV)/.installed
	DATABASE_URL=$(PG_URL) $(BIN)/pytest

bench: $(VENV)/.installed
	bash scripts/bench
	bash scripts/bench-exchange

bench-small: $(VENV)/.installed
	BENCH_PEOPLE=100000 BENCH_RESOLVE_PEOPLE=100000 bash scripts/bench

bench-resolve: $(VENV)/.installed
	BENCH_RESOLVE_ONLY=1 bash scripts/bench

bench-exchange: $(VENV)/.installed
	bash scripts/bench-exchange

messages: $(VENV)/.installed
	cd src/renfang && ../../$(BIN)/renfang makemessages -l zh_Hans --no-obsolete && ../../$(BIN)/renfang compilemessages

clean:
	rm -rf $(VENV) renfang.sqlite3* staticfiles .pytest_cache .mypy_cache .ruff_cache
