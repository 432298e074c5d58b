# Two commands: `make run` (serve the site with demo content) and `make test` (the whole suite).
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_TMP := $(CURDIR)/.tmp

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint pytest pytest-postgres bench screenshots setup setup-dev demo clean

$(VENV)/.base-installed: requirements.txt
	@test -x $(PY) || $$(scripts/find-python.sh) -m venv $(VENV)
	@$(PY) -m pip install -qq --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -qq --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.base-installed requirements-dev.txt
	@$(PY) -m pip install -qq --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.base-installed

setup-dev: $(VENV)/.dev-installed

demo: setup
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py sync_lessons
	DEBUG=1 $(PY) manage.py load_demo

run: demo
	@echo "Serving on http://127.0.0.1:$(PORT)/  (Ctrl-C to stop)"
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	TESTING=1 $(PY) manage.py makemigrations --check --dry-run
	TESTING=1 $(VENV)/bin/mypy

test: setup-dev
	@scripts/install-chromium.sh
	@scripts/install-pkcs11-tools.sh
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory pytest
	@if $(PY) scripts/pg_ready.py; then \
		$(MAKE) --no-print-directory pytest-postgres; \
	elif [ "$${REQUIRE_POSTGRES:-0}" = 1 ]; then \
		echo "error: REQUIRE_POSTGRES=1 but no PostgreSQL answers on 127.0.0.1:5432" >&2; exit 1; \
	else \
		echo "PostgreSQL is not answering on 127.0.0.1:5432: skipped the PostgreSQL run."; \
	fi

pytest: setup-dev
	@mkdir -p $(TEST_TMP)
	TESTING=1 TMPDIR=$(TEST_TMP) XDG_CACHE_HOME=$(TEST_TMP)/cache XDG_CONFIG_HOME=$(TEST_TMP)/config \
		$(PY) -m pytest $(PYTEST_ARGS)

pytest-postgres: setup-dev
	@echo "== Running the suite again on PostgreSQL ($(PG_URL)) =="
	@mkdir -p $(TEST_TMP)
	TESTING=1 DATABASE_URL=$(PG_URL) TMPDIR=$(TEST_TMP) XDG_CACHE_HOME=$(TEST_TMP)/cache \
		XDG_CONFIG_HOME=$(TEST_TMP)/config $(PY) -m pytest $(PYTEST_ARGS)

screenshots: setup-dev
	@scripts/install-chromium.sh
	@$(MAKE) --no-print-directory pytest PYTEST_ARGS="-q -p no:randomly tests/browser/screenshots.py"
	@echo "Wrote docs/screenshots/*.png"

bench: setup-dev
	@scripts/install-wrk.sh
	@scripts/install-pkcs11-tools.sh
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(TEST_TMP) staticfiles test-results db.sqlite3
