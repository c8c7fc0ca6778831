# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# Three test workers on the two cores (pytest-xdist): the tests wait on PostgreSQL, Redis, the
# browser and subprocesses much of the time, and a third worker filled that (the whole suite
# measured 5:08 with two workers and 4:43 with three, one after the other on a quiet machine).
# `make test PYTEST_ARGS=...` overrides.
PYTEST_ARGS ?= -n 3

.PHONY: demo test install install-dev frontend browser lint format clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed frontend
install-dev: $(VENV)/.installed-dev frontend browser
frontend: node_modules/.package-lock.json

# Browser tests drive Debian's chromium (Playwright never downloads a browser here).
browser:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests"; fi; }

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_demo
	$(PY) manage.py rundemo --host $(HOST) --port $(PORT)

test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	# Tests queue into their own broker folder, never into the demo worker's.
	CRM_CELERY_BROKER_DIR=$(CURDIR)/var/celery-broker-test $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var .pytest_cache .ruff_cache
