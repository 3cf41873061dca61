# Two commands: `make run` starts Assay, `make test` checks all of it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DASHBOARD_STAMP := src/assay/static/dashboard/index.html

.PHONY: run test lint typecheck pytest dashboard dashboard-test dashboard-types \
	dashboard-types-check dashboard-lint system-deps clean bench test-unit

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip uv

$(STAMP): pyproject.toml | $(BIN)/python
	$(UV) pip install --python $(BIN)/python -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(UV) pip install --python $(BIN)/python -q -e '.[dev]'
	touch $@ $(STAMP)

# The dashboard is built when its sources exist and npm is available; rebuilt only when
# its sources change.
DASHBOARD_SOURCES := $(shell find dashboard/src dashboard/index.html dashboard/package.json \
	dashboard/package-lock.json dashboard/vite.config.ts dashboard/tsconfig.json 2>/dev/null)
NODE_STAMP := dashboard/node_modules/.installed

$(NODE_STAMP): dashboard/package.json dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund
	touch $@

$(DASHBOARD_STAMP): $(NODE_STAMP) $(DASHBOARD_SOURCES)
	cd dashboard && npm run build

dashboard:
	@if [ ! -f dashboard/package.json ]; then exit 0; fi; \
	if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(DASHBOARD_STAMP); \
	else echo "npm not found: serving the API without the dashboard"; fi

dashboard-test: $(NODE_STAMP)
	cd dashboard && npm test

# The dashboard's API types, generated from the server's OpenAPI schema (the app is built,
# never started: no server, no database). `dashboard-types` rewrites the committed file;
# `dashboard-types-check` fails when it is not what the current API generates.
DASHBOARD_SCHEMA := dashboard/src/api/schema.d.ts
define generate_dashboard_types
	$(BIN)/python -m assay.api.openapi_dump $$tmp/openapi.json && \
	(cd dashboard && npx --no-install openapi-typescript "$$tmp/openapi.json" \
		--output "$(1)" >/dev/null)
endef

dashboard-types: $(STAMP) $(NODE_STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(call generate_dashboard_types,$(CURDIR)/$(DASHBOARD_SCHEMA)) && \
	echo "wrote $(DASHBOARD_SCHEMA)"

dashboard-types-check: $(STAMP) $(NODE_STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(call generate_dashboard_types,$$tmp/schema.d.ts) && \
	if ! cmp -s "$$tmp/schema.d.ts" $(DASHBOARD_SCHEMA); then \
		diff -u $(DASHBOARD_SCHEMA) "$$tmp/schema.d.ts" | head -40; \
		echo "$(DASHBOARD_SCHEMA) is out of date with the API's OpenAPI schema:" \
			"run make dashboard-types (and commit the result)" >&2; \
		exit 1; \
	fi

dashboard-lint: $(NODE_STAMP)
	cd dashboard && npm run lint

# System packages: bubblewrap gives the sandbox its own network and a read-only system;
# Chromium drives the dashboard's end-to-end tests. Installed when missing and we are root.
system-deps:
	@missing=""; command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$missing"; \
			apt-get install -y -q $$missing >/dev/null 2>&1 || \
			(apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null); \
		else echo "missing system packages:$$missing (install them for full isolation and E2E tests)"; fi; \
	fi

run: $(STAMP) system-deps dashboard
	$(BIN)/assay migrate
	$(BIN)/assay serve

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# Two pytest workers, a test file each at a time (its fixtures stay together). The
# browser tests run in a pytest of their own: Playwright's sync API leaves an event loop
# running in its process, after which `asyncio.run` (the worker and unit tests) fails.
# Last, alone, the tests marked `serial`: they take what every sandbox shares (the
# sandbox uid's process limit), so beside another test they would make it fail.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

pytest: $(DEV_STAMP) system-deps dashboard
	$(PYTEST_PARALLEL) -m "not e2e and not serial"
	$(PYTEST_PARALLEL) -m "e2e and not serial"
	$(BIN)/pytest -m serial

# The fast tier: real objects on real SQLite, no PostgreSQL, Redis or broker running.
test-unit: $(DEV_STAMP)
	$(BIN)/pytest tests/unit -q -p no:cacheprovider

test: lint typecheck dashboard-types-check dashboard-lint dashboard-test pytest

bench: $(DEV_STAMP)
	$(BIN)/python bench/execution.py

clean:
	rm -rf $(VENV) .assay .mypy_cache .ruff_cache .pytest_cache
