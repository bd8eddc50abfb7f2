# Two commands on a fresh machine: `make run` and `make test` (README.md).
# Everything installs into $(VENV) from requirements.lock, so every machine gets the same versions.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
# Server for `make test-postgres` (two fresh databases are created on it and dropped afterwards).
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432

.PHONY: install install-dev run serve test test-fast test-browser test-postgres lint typecheck format messages clean

# Runtime dependencies only (what `make run` needs).
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c requirements.lock -e .
	touch $@

# Plus what the tests and linters need (pytest, Playwright's Python package, ruff, mypy...).
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
	touch $@

# Installs, migrates, loads the Huarong demo (idempotent) and serves http://$(HOST):$(PORT) with the task worker
# and the periodic scheduler beside it, on SQLite files under var/. Demo mode is on unless TONGSHU_DEMO=0.
run: install
	TONGSHU_DEMO=$${TONGSHU_DEMO:-1} $(BIN)/python manage.py migrate --noinput -v0
	TONGSHU_DEMO=$${TONGSHU_DEMO:-1} $(BIN)/python manage.py load_demo
	TONGSHU_DEMO=$${TONGSHU_DEMO:-1} $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# Serve what is already migrated, without touching the data (no demo load).
serve: install
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# The whole suite, browser tests included (they drive Debian's Chromium at /usr/bin/chromium; `apt-get install
# chromium fonts-noto-cjk`). Outside CI a machine without Chromium skips them and says so.
test: install-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q $(PYTEST_ARGS)

test-fast: install-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m "not browser" $(PYTEST_ARGS)

test-browser: install-dev
	$(BIN)/python -m pytest -q -m browser $(PYTEST_ARGS)

# The suite (browser tests aside) on PostgreSQL for both stores, in two throw-away databases.
test-postgres: install-dev
	POSTGRES_URL=$(POSTGRES_URL) PYTEST_WORKERS=$(PYTEST_WORKERS) $(BIN)/python scripts/test_postgres.py $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py check --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run -v0
	$(BIN)/python -m mypy tongshu

typecheck: install-dev
	$(BIN)/python -m mypy tongshu

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Refresh and compile the zh-hans translations of every app (needs gettext's msgfmt).
messages: install-dev
	$(BIN)/python scripts/i18n.py

clean:
	rm -rf $(VENV) var test-artifacts .mypy_cache .ruff_cache
