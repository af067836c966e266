# The two commands a newcomer needs: `make serve` and `make test`.
# Each creates .venv and installs the project into it when missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Browser assets (GraphiQL and its editor) come from the npm registry, pinned in
# package-lock.json, installed into node_modules/ and bundled into web/dist/ (both git-ignored).
NPM_STAMP := node_modules/.installed
ASSETS := web/dist/.built

.PHONY: serve test lint typecheck pytest migrate seed clean assets

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

$(ASSETS): $(NPM_STAMP) web/build.mjs $(wildcard web/graphiql/*.jsx)
	node web/build.mjs
	touch $(ASSETS)

assets: $(ASSETS)

serve: $(STAMP) $(ASSETS)
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

pytest: $(STAMP) $(ASSETS)
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info node_modules web/dist
