# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# Four test workers on the two cores, idle ones stealing queued tests (pytest-xdist): the
# tests wait on PostgreSQL, Redis, the browser and subprocesses much of the time, and a few
# long ones (the demo start, the browser tests) must not end up last in one worker's queue.
# Measured one after the other on a quiet machine, 4,437 tests: 4:55 with `-n 4 --dist
# worksteal`, 5:01 with `-n 3`. `make test PYTEST_ARGS=...` overrides.
PYTEST_ARGS ?= -n 4 --dist worksteal

.PHONY: demo test conformance install install-dev frontend browser lint format clean

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
	$(BANDIT)
	$(PY) manage.py makemigrations --check --dry-run
	# Tests queue into their own broker folder, never into the demo worker's. The suite runs
	# without the connection pool (a checkout per request made it 25% slower);
	# tests/system/test_db_connections.py serves with the pool and checks its bound.
	CRM_CELERY_BROKER_DIR=$(CURDIR)/var/celery-broker-test DB_POOL_MAX_SIZE=0 $(VENV)/bin/pytest $(PYTEST_ARGS)

# The API against its OpenAPI schema at RELIABILITY.md G6's figure: 100 generated cases per
# operation and role (`make test` runs the same module at 25). .ci/run calls it after make test.
conformance: install-dev
	CRM_CELERY_BROKER_DIR=$(CURDIR)/var/celery-broker-test DB_POOL_MAX_SIZE=0 SCHEMATHESIS_CASES=100 \
		$(VENV)/bin/pytest tests/api/test_schema_conformance.py $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(BANDIT)

# bandit on our code at medium severity and confidence (G2, docs/security.md): the apps and
# config, not .venv, node_modules or tests. Each finding is fixed or annotated on its line
# with `# nosec <id>  # <why it is safe>`.
BANDIT = $(VENV)/bin/bandit --quiet -r agents core crm insights pricing reports config -ll -ii

# The dependency audit (G2, docs/security.md): pip-audit on the installed .venv, where pip-audit
# is installed and its vulnerability data answers: PyPI's JSON for a pinned release (the
# installed Django's), which carries that release's known vulnerabilities. Where it does not (CI
# here) the audit says "not run" and does not fail: an unreachable database is not a pass.
.PHONY: audit
audit:
	@if ! $(PY) -c 'import json, urllib.request, importlib.metadata as m; url = "https://pypi.org/pypi/Django/%s/json" % m.version("Django"); json.load(urllib.request.urlopen(url, timeout=10))["vulnerabilities"]' >/dev/null 2>&1; then \
		echo "dependency audit: not run (vulnerability data unreachable)"; \
	elif [ ! -x $(VENV)/bin/pip-audit ]; then \
		echo "dependency audit: not run (pip-audit not installed: $(PIP) install pip-audit)"; \
	else \
		$(VENV)/bin/pip-audit --progress-spinner off; \
	fi

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var .pytest_cache .ruff_cache
