# Two set-up commands: `make run` (service with a demo tenant and key) and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint services venv loadtest migrate clean bench bench-check bench-baseline reliability reliability-fuzz openapi reference-k6

# The ves distribution (stateset-ves/) on the same command line as the server, so the server's
# dependency on it is met from the checkout; dev brings the local-chain extra (ADR 0023). A server
# installed before ves was split out owns bin/ves: remove it first, or its uninstall, which pip runs
# after installing stateset-ves, would take the new script with it.
$(STAMP): pyproject.toml stateset-ves/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip uninstall -qq -y stateset-sequencer
	$(PY) -m pip install -q -e ./stateset-ves -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

services:
	bash scripts/services.sh

run: venv services
	bash scripts/run.sh

test: venv services
	bash scripts/browser.sh  # chromium for the admin browser tests (installed from Debian when missing)
	$(VENV)/bin/pytest -q -n 2  # the environment of a `make run` deployment: tests/settings.py

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	. scripts/env.sh && SECRET_KEY=lint $(VENV)/bin/mypy .
	. scripts/env.sh && SECRET_KEY=lint $(PY) manage.py makemigrations --check --dry-run

# Benchmarks (docs/performance.md, ADR 0007): the full suite, saved as JSON under var/bench/.
bench: venv services
	mkdir -p var/bench
	. scripts/env.sh && SECRET_KEY=test-only BOOTSTRAP_ADMIN_API_KEY=test-bootstrap-admin \
		$(VENV)/bin/pytest tests/benchmarks -p no:xdist -q --benchmark-only \
		--benchmark-json=var/bench/$$(date -u +%Y%m%dT%H%M%SZ)-bench.json

# The regression gate CI runs: quick suite, ratios to the calibration workload vs the baseline;
# a benchmark still failing is measured side by side with the baseline's commit (ADR 0035).
bench-check: venv services
	. scripts/env.sh && SECRET_KEY=test-only BOOTSTRAP_ADMIN_API_KEY=test-bootstrap-admin \
		$(PY) scripts/check_regression.py --threshold 0.15 --quick

# Refresh tests/benchmarks/baseline.json (median of five quick runs); commit it with the change it reflects.
bench-baseline: venv services
	. scripts/env.sh && SECRET_KEY=test-only BOOTSTRAP_ADMIN_API_KEY=test-bootstrap-admin \
		$(PY) scripts/check_regression.py --quick --write-baseline --runs 5

# Concurrency, crash and fault scenarios on a private PostgreSQL (:5440), Redis (:6390) and
# gunicorn (:8140); prints what was tried and what survived (docs/reliability.md).
# Quick form by default (CI); `make reliability ARGS=--full` for the full sizes (docs/reliability.md).
reliability: venv services
	$(PY) -m reliability $(ARGS)

# The OpenAPI snapshot (docs/api.md): regenerate after changing an endpoint.
openapi: venv
	. scripts/env.sh && SECRET_KEY=openapi $(PY) manage.py spectacular --validate --fail-on-warn --file docs/openapi/openapi.yaml

# Deep API fuzzing (docs/reliability.md "API fuzzing (schemathesis)"); prints its counts.
# Not part of `make reliability` (CI): 200 examples per operation take tens of minutes; the
# quick fuzz runs in `make test`.
reliability-fuzz: venv services
	. scripts/env.sh && SECRET_KEY=test-only BOOTSTRAP_ADMIN_API_KEY=test-bootstrap-admin DB_POOL_MAX_SIZE=24 \
		SCHEMATHESIS_MAX_EXAMPLES=$${SCHEMATHESIS_MAX_EXAMPLES:-200} \
		$(VENV)/bin/pytest -q -p no:xdist -s tests/sequencer_project/test_api_fuzzing.py

loadtest: venv
	. scripts/env.sh && $(PY) -m loadtest $(ARGS)

# The reference's own k6 scripts (its load/*.js, UUID bug patched at run time) against a scratch
# service; fails unless every check passes (docs/api.md). ARGS e.g. --duration 30s --vus 10.
reference-k6: venv services
	. scripts/env.sh && SECRET_KEY=$${SECRET_KEY:-reference-k6} $(PY) -m loadtest.reference_k6 --start-service $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache var
