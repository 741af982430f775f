# Cohort's two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The runtime lock is all `make run` needs; `make test` adds the development lock on top.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
COHORT_HOST ?= 127.0.0.1
COHORT_PORT ?= 8000
COHORT_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cohort
export COHORT_TEST_DATABASE_URL

.PHONY: install install-dev run test test-sqlite test-postgres lint browser wrk bench lock serve-prod

$(STAMP): requirements.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $(DEV_STAMP)

install: $(STAMP)
install-dev: $(DEV_STAMP)

# Development, even in a shell that exported a production SECRET_KEY (which turns DEBUG off).
run test-sqlite test-postgres: export COHORT_DEBUG ?= true

## make run: install, migrate the embedded SQLite database, load demo data once, serve.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_demo
	$(PY) manage.py runserver --noreload $(COHORT_HOST):$(COHORT_PORT)

## make test: install, then lint (code style and the import layers) and the whole suite on
## SQLite and on PostgreSQL.
test: install-dev browser wrk lint test-sqlite test-postgres

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

test-sqlite: install-dev
	env -u DATABASE_URL $(VENV)/bin/pytest -n 2 -q

test-postgres: install-dev
	@$(PY) scripts/check_postgres.py; status=$$?; \
	if [ $$status = 3 ]; then echo "Skipping the PostgreSQL run (set CI=true to make this an error)."; \
	elif [ $$status != 0 ]; then exit $$status; \
	else DATABASE_URL=$(COHORT_TEST_DATABASE_URL) $(VENV)/bin/pytest -n 2 -q; fi

## Debian's Chromium drives the browser tests; Playwright never downloads a browser.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || { [ "$$CI" = true ] && echo "chromium is missing and could not be installed" && exit 1; echo "chromium not installed: browser tests will skip"; }

## wrk (Debian's package) loads the API in the benchmark and in its smoke test.
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } \
	  || { [ "$$CI" = true ] && echo "wrk is missing and could not be installed" && exit 1; echo "wrk not installed: the benchmark smoke test will skip"; }

## make bench: Cohort beside raw SQL at 1,000,000 contacts (not a test; see bench/__main__.py).
## SQLite by default; DATABASE_URL=postgres://… benchmarks PostgreSQL in a database of its own.
bench: install wrk
	$(PY) -m bench

## make serve-prod: the production processes of the Procfile on this machine, on PostgreSQL
## and Redis: the release step (migrate, collectstatic), then gunicorn, a Celery worker and
## Celery beat under honcho, at http://$(COHORT_HOST):$(COHORT_PORT). Ctrl-C stops them all.
## Plain HTTP here (no HTTPS redirect, cookies over HTTP); a deployment keeps both on.
SERVE_PROD_KEY := var/serve-prod-secret-key
serve-prod: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cohort
serve-prod: export REDIS_URL ?= redis://127.0.0.1:6379/0
serve-prod: export COHORT_SSL_REDIRECT ?= false
serve-prod: export COHORT_SECURE_COOKIES ?= false
serve-prod: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
serve-prod: install
	@if [ -z "$$SECRET_KEY$$COHORT_SECRET_KEY" ]; then \
	  mkdir -p var; [ -s $(SERVE_PROD_KEY) ] || (umask 077; \
	    $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $(SERVE_PROD_KEY)); \
	  echo "SECRET_KEY is not set: using $(SERVE_PROD_KEY), made for this machine only."; \
	  SECRET_KEY=$$(cat $(SERVE_PROD_KEY)); export SECRET_KEY; \
	fi; \
	honcho start release && exec honcho start --port $(COHORT_PORT) web worker beat

## make lock: re-pin both locks after editing requirements.in or requirements-dev.in.
lock: install-dev
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o requirements.lock requirements.in
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o requirements-dev.lock requirements-dev.in
