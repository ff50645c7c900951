# Newcomer commands: `make run` (bot, or a console preview without BOT_TOKEN) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint i18n bench bench-summary bench-search bench-ask bench-broadcast bench-updates bench-follows bench-outbox bench-workers clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

test: lint
	$(BIN)/python -m pytest

# Unit tests only (no emulator, no bot process, nothing slow): seconds, for the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not e2e"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k __ -k N_ --no-location --omit-header -o bot/locales/messages.pot bot handlers
	$(BIN)/pybabel update -i bot/locales/messages.pot -d bot/locales -D messages --no-fuzzy-matching
	$(BIN)/pybabel compile -d bot/locales -D messages

bench: bench-summary bench-search bench-ask bench-broadcast

bench-summary: $(STAMP)
	$(BIN)/python -m tests.bench.bench_summary

bench-search: $(STAMP)
	$(BIN)/python -m tests.bench.bench_search

bench-ask: $(STAMP)
	$(BIN)/python -m tests.bench.bench_ask

bench-broadcast: $(STAMP)
	$(BIN)/python -m tests.bench.bench_broadcast

bench-updates: $(STAMP)
	$(BIN)/python -m tests.bench.bench_updates

bench-follows: $(STAMP)
	$(BIN)/python -m tests.bench.bench_follows

bench-outbox: $(STAMP)
	$(BIN)/python -m tests.bench.bench_outbox

bench-workers: $(STAMP)
	$(BIN)/python -m tests.bench.bench_workers

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
