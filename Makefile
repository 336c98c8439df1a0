# The two commands of the README: `make run` and `make test`.
# Each creates the virtualenv and installs the project on first use.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: run test lint bench

# The deploy extra (gunicorn) too: the metrics test runs real gunicorn workers.
# npm brings axe-core, which the accessibility tests inject into each page.
$(STAMP): pyproject.toml package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,deploy]'
	npm ci --no-audit --no-fund
	touch $(STAMP)

# Serve on http://127.0.0.1:5000 with demo data on first run (SQLite, local index).
run: $(STAMP)
	$(VENV)/bin/kb run --demo

# The whole suite on SQLite; again on PostgreSQL when KB_TEST_DATABASE_URL is set;
# then the non-browser tests and the role journeys once more on SQLite at another
# date (a leap day), so a test that only passes on some days fails the day it is written.
# The suite's clock is pinned (pytest --today, default in tests/conftest.py).
MOVED_TODAY ?= 2028-02-29T09:30
test: $(STAMP)
	$(VENV)/bin/ruff check .
	KB_TEST_DATABASE_URL= $(VENV)/bin/pytest
	@if [ -n "$$KB_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$KB_TEST_DATABASE_URL)"; \
		$(VENV)/bin/pytest; \
	fi
	@echo "== again on SQLite at $(MOVED_TODAY): the non-browser tests and the journeys"
	KB_TEST_DATABASE_URL= $(VENV)/bin/pytest -m "not browser" --today $(MOVED_TODAY)
	KB_TEST_DATABASE_URL= $(VENV)/bin/pytest tests/test_journey_*.py --today $(MOVED_TODAY)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(VENV)/bin/kb bench
