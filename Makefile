# The two commands a newcomer needs: `make serve` and `make test`.
# Each creates .venv and installs the project into it when missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint typecheck pytest migrate seed clean schema

# The GraphQL-over-HTTP audit (tests/api/test_graphql_over_http_audit.py) runs the npm package
# graphql-http under Node; it lives in a git-ignored folder, fetched once.
NODE_DIR := .node
GRAPHQL_HTTP := $(NODE_DIR)/node_modules/graphql-http/package.json
GRAPHQL_HTTP_VERSION := 1.23.1
GRAPHQL_JS_VERSION := 16.11.0

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

$(GRAPHQL_HTTP):
	mkdir -p $(NODE_DIR)
	npm install --prefix $(NODE_DIR) --no-audit --no-fund --silent \
		graphql-http@$(GRAPHQL_HTTP_VERSION) graphql@$(GRAPHQL_JS_VERSION)

pytest: $(STAMP) $(GRAPHQL_HTTP)
	$(BIN)/pytest

# schema.graphql is the reviewed contract; tests/schema/test_sdl.py fails when it is stale.
schema: $(STAMP)
	$(BIN)/python server.py export-schema

test: lint typecheck pytest

clean:
	rm -rf $(VENV) $(NODE_DIR) .mypy_cache .ruff_cache .pytest_cache *.egg-info
