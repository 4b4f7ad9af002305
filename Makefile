# Baton's front door. `make run` sets up and starts Baton; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench browser clean-data

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Baton needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/baton run --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is not installed (apt-get install chromium): browser tests will be skipped."; \
	  fi; \
	fi

test: install browser
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

clean-data:
	rm -rf .baton .files

# One approval round trip through the engine against a bare SQLite transaction, with
# statements per round trip (~15 s; --json for scripts), then what a CLI call costs before
# it does anything (imports, ~30 s), then the loop on the default demo
# workspace, then planning + approving the winback segment at 20k, 200k and 1M contacts
# (workspaces built once, 1M about 10 min, cached in /tmp/baton-bench-loop), then the
# tools at 1M contacts / 10M events
# (the 1M workspace is built once, ~3 min, and cached in /tmp/baton-bench), then memory:
# lessons, "why" and feedback search beside 100k lessons/feedback and 1M audit events
# (built once, ~30 s, cached in /tmp/baton-bench-memory), then the LLM orchestrator's
# prompt tokens against a one-agent baseline and its overhead (scripted model, ~1 min).
bench: install
	$(BIN)/python -m benchmarks.engine
	$(BIN)/python -m benchmarks.cli
	$(BIN)/python -m benchmarks.loop
	$(BIN)/python -m benchmarks.plan_scale
	$(BIN)/python -m benchmarks.scale --contacts 1000000 --events 10000000
	$(BIN)/python -m benchmarks.memory
	$(BIN)/python -m benchmarks.llm
