# Two commands on a fresh clone (Python 3.11 and make are all it needs):
#   make run    venv + install + migrate + demo data, then the server on :8001 with a
#               Celery worker and beat (embedded mode: SQLite, filesystem broker)
#   make test   the test suite (SQLite; set DATABASE_URL/REDIS_URL to use servers)

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8001
# The embedded server listens on this machine only; HOST=0.0.0.0 make run exposes it.
HOST ?= 127.0.0.1

BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/quimbi_bench
# The production shape has Redis (credential cache, queue counts, throttles); a Redis
# that is not running only makes those fall back (measured slower, never failing).
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14

.PHONY: install run test lint clean bench bench-quick

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)/admin/ and /api/v1/ with a Celery worker + beat. Ctrl-C stops all."
	@trap 'kill 0' INT TERM EXIT; export DEMO_FEATURES=$${DEMO_FEATURES:-true}; \
	$(VENV)/bin/celery -A quimbi_support worker --beat --pool=solo --without-mingle \
		--without-gossip --loglevel=INFO & \
	$(VENV)/bin/gunicorn quimbi_support.wsgi --bind $(HOST):$(PORT) --workers 2 --threads 4 \
		--access-logfile -

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var staticfiles db.sqlite3*

# Benchmarks (PostgreSQL): load the dataset into BENCH_DATABASE_URL (an empty database,
# created if missing), then measure. See bench/README.md.
bench: install
	$(MAKE) --no-print-directory _bench TICKETS=1000000

bench-quick: install
	$(MAKE) --no-print-directory _bench TICKETS=50000 BENCH_FLAGS=--quick

_bench:
	@psql "$(dir $(BENCH_DATABASE_URL))postgres" -qtc "SELECT 1 FROM pg_database WHERE datname = '$(notdir $(BENCH_DATABASE_URL))'" | grep -q 1 \
		|| psql "$(dir $(BENCH_DATABASE_URL))postgres" -qc "CREATE DATABASE $(notdir $(BENCH_DATABASE_URL))"
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py migrate --noinput --verbosity 0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py seed_bench --tickets $(TICKETS) --messages-per-ticket 5 --reset
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/run.py $(BENCH_FLAGS)
