# Two commands on a fresh machine: `make run` and `make test` (README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: install run serve test test-fast test-browser test-postgres lint format messages clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
	touch $@

# Installs, migrates, loads the Huarong demo (idempotent) and serves http://$(HOST):$(PORT) with the task worker
# and the periodic scheduler beside it, on SQLite files under var/.
run: install
	TONGSHU_DEMO=$${TONGSHU_DEMO:-1} $(BIN)/python manage.py migrate --noinput -v0
	TONGSHU_DEMO=$${TONGSHU_DEMO:-1} $(BIN)/python manage.py load_demo
	TONGSHU_DEMO=$${TONGSHU_DEMO:-1} $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# The whole suite, browser tests included (they drive Debian's Chromium at /usr/bin/chromium).
test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

test-fast: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m "not browser"

test-browser: install
	$(BIN)/python -m pytest -q -m browser

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py check --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run -v0
	$(BIN)/python -m mypy tongshu

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Refresh and compile the zh-hans translations of every app.
messages: install
	$(BIN)/python scripts/i18n.py

clean:
	rm -rf $(VENV) var
