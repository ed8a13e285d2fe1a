# Two commands do everything: `make run` and `make test`. Both set up .venv first.
# .venv gets the development lock (runtime + test tools); the production image (Dockerfile)
# installs requirements.lock alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
CONTRACT := ../shared/contract

.PHONY: setup run test test-fast bench bench-airflow airflow lint seeds lock clean-home

setup: $(STAMP)

$(STAMP): requirements-dev.lock requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	# compiled up front: this environment sets PYTHONDONTWRITEBYTECODE, and every process
	# (CLI, Airflow task, test) would otherwise recompile Airflow, dbt and GX from source
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements-dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	# the project's own modules too (an editable install is not compiled): ~0.05 s of every
	# process's start; a file changed since is compiled in memory, as without them
	$(BIN)/python -m compileall -q ingest dags
	touch $(STAMP)

run: setup
	$(BIN)/lhpn run

# In parallel on every core (pytest-xdist): each worker has its own embedded PostgreSQL; the
# longest tests start first and tests sharing a setup run on one worker (tests/conftest.py).
test: setup
	$(BIN)/python -m pytest -n auto $(ARGS)

# The fast tier: everything but the tests marked slow (over ~10 s: dbt builds, Airflow, the CLI
# end to end) or external (LibreOffice, Chromium, Superset, Docker Compose).
test-fast: setup
	$(BIN)/python -m pytest -n auto -m "not slow and not external" $(ARGS)

bench: setup
	$(BIN)/python -m tests.bench.run $(ARGS)

# The production path: files dropped into the inbox of `airflow standalone` until the lhpn_marts
# asset event, for 1 file and a 300-file burst, beside `lhpn run` on the same files.
bench-airflow: setup
	$(BIN)/python -m tests.bench.airflow $(ARGS)

airflow: setup
	$(BIN)/python -m ingest.airflow.local

lint: setup
	$(BIN)/ruff check .

# Refresh the reference seeds from the contract (one source of truth: the contract's CSVs).
seeds:
	cp $(CONTRACT)/indicators.csv $(CONTRACT)/provinces_2024.csv \
	   $(CONTRACT)/province_merger_2025.csv $(CONTRACT)/communes_2025.csv dbt_project/seeds/

# Runtime pins first; the development lock is constrained to them (requirements-dev.in).
lock:
	$(BIN)/uv pip compile requirements.in --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile requirements-dev.in --python-version 3.11 -o requirements-dev.lock
