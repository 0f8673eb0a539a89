# Jigsaw: the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export SODA_CORE_TELEMETRY_ENABLED := false
export PYTHONUNBUFFERED := 1

.PHONY: install demo test test-fast lint format ui region bench docs clean report

# pip prints each package as it goes (a few minutes on a fresh machine), so the install is
# never silent; DAGSTER_HOME and the other settings are settled by orchestration/cli/settings.py.
$(STAMP): pyproject.toml constraints.txt setup.py ingestion/_hmac_tokens.c
	@echo "install: [1/2] virtualenv and pip ($(VENV))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "install: [2/2] Jigsaw and its dependencies (dagster, dbt, soda, splink...), pinned by constraints.txt"
	@start=$$(date +%s); $(PY) -m pip install -c constraints.txt -e '.[dev]' \
		| awk '/^Collecting /{n++; printf "install:   %3d %s\n", n, $$2; fflush()} \
		       /^Successfully installed/{print "install:   installed " NF-2 " packages"}'; \
		status=$${PIPESTATUS[0]}; echo "install: done in $$(( $$(date +%s) - start )) s"; exit $$status
	@$(PY) -c "from ingestion import array_signing as a; print('install: the loader\'s HMAC loop', \
		'compiled' if a.available() else 'not built (needs a C compiler and OpenSSL headers: \
		apt-get install gcc libssl-dev, then make install): the loader signs in Python')"
	@touch $(STAMP)

install: $(STAMP)

## make demo: set up, generate the demo region and run the whole pipeline on it.
demo: $(STAMP)
	$(PY) -m orchestration.cli demo

## make test: the test suite on a real PostgreSQL (throwaway databases), in random order: modules
## shuffled and the tests shuffled within each (so module fixtures are still built once). The
## seed is printed at the top; rerun an order with RANDOM_ORDER_SEED=<seed> make test.
RANDOM_ORDER := -p random_order --random-order-bucket=module \
	$(if $(RANDOM_ORDER_SEED),--random-order-seed=$(RANDOM_ORDER_SEED))
test: $(STAMP)
	$(PY) -m pytest $(RANDOM_ORDER)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not e2e"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m orchestration.cli lint-sql
	$(PY) -m quality.derived_files --check

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make ui: the Dagster UI on http://127.0.0.1:3000
ui: $(STAMP)
	$(PY) -m orchestration.cli ui

## make region: write the demo region's deliveries to data/landing (RESIDENTS=20000 SEED=...)
region: $(STAMP)
	$(PY) -m ingestion.demo_region $(if $(RESIDENTS),--residents $(RESIDENTS)) $(if $(SEED),--seed $(SEED))

## make report: the studies, model, damp alerts and their evaluation, and the analysts' HTML
## report under data/reports/ (on the marts the last `make demo` published)
report: $(STAMP)
	$(PY) -m orchestration.cli report

## make bench: benchmarks that print figures (speed, memory, accuracy)
bench: $(STAMP)
	$(PY) -m benchmarks

## make docs: build the dbt docs catalogue and serve it on http://127.0.0.1:8080 (Ctrl-C stops)
docs: $(STAMP)
	$(PY) -m orchestration.cli docs

clean:
	-test -x $(PY) && $(PY) -m orchestration.cli stop-database
	rm -rf .jigsaw data dbt_project/target dbt_project/logs
