# Two commands on a fresh clone (Python 3.11 and make are all it needs):
#   make run    venv + install + migrate + demo data, then the server on :8001 with a
#               Celery worker and beat (embedded mode: SQLite, filesystem broker)
#   make test   the test suite (SQLite; set DATABASE_URL/REDIS_URL to use servers)

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8001

.PHONY: install run test lint clean

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
	@echo "Serving http://localhost:$(PORT)/admin/ and /api/v1/ with a Celery worker + beat. Ctrl-C stops all."
	@trap 'kill 0' INT TERM EXIT; \
	$(VENV)/bin/celery -A quimbi_support worker --beat --pool=solo --without-mingle \
		--without-gossip --loglevel=INFO & \
	$(VENV)/bin/gunicorn quimbi_support.wsgi --bind 0.0.0.0:$(PORT) --workers 2 --threads 4 \
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
