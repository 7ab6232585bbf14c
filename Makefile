# Switchman — `make run` and `make test` are the two set-up commands (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean

# Create the virtualenv and install the project (editable, with test tools) when missing or stale.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The local console on SQLite without Slack tokens; the real app when SLACK_BOT_TOKEN is set.
run: $(STAMP)
	@if [ -n "$$SLACK_BOT_TOKEN" ]; then exec $(BIN)/switchman serve; else exec $(BIN)/switchman console; fi

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check bot handlers tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis switchman.db switchman.db-*
