# The project's entry points. `make demo` and `make test` work on a fresh machine with Python 3.11:
# the first call creates .venv and installs everything from pyproject.toml + constraints.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint pytest bench lock clean airflow

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its pinned dependencies

demo: $(STAMP)  ## the end-to-end demo on the embedded DuckDB warehouse
	$(BIN)/dq demo

test: lint pytest  ## everything CI runs: linters, then the test suite on DuckDB and PostgreSQL

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint models tests/dbt

# Airflow 3 in its own virtualenv (its pins clash with dbt's), AIRFLOW_HOME inside the repo (git-ignored).
# `make test` installs it: tests/test_airflow_dag.py imports and test-runs orchestration/dags/ in it.
AIRFLOW_VERSION := 3.3.2
AIRFLOW_VENV    := orchestration/.venv
AIRFLOW_STAMP   := $(AIRFLOW_VENV)/.installed-$(AIRFLOW_VERSION)

$(AIRFLOW_STAMP): orchestration/constraints.txt
	@$(PYTHON) -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 13), "Airflow 3 needs Python 3.10-3.13"'
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --disable-pip-version-check -c orchestration/constraints.txt "apache-airflow==$(AIRFLOW_VERSION)"
	touch $(AIRFLOW_STAMP)

airflow: $(AIRFLOW_STAMP)  ## Airflow 3 in orchestration/.venv (see orchestration/README.md)

# The suite in PYTEST_WORKERS processes (pytest-xdist), a test file per worker at a time: each worker
# has its own PostgreSQL cluster, warehouses and tmp dir (tests/conftest.py). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2

pytest: $(STAMP) $(AIRFLOW_STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

bench: $(STAMP)  ## benchmarks at 1M customers; prints ratios and records them in docs/benchmarks.md
	$(BIN)/dq bench --record; ldz=$$?; $(BIN)/dq bench-vault --record; vault=$$?; \
	$(BIN)/dq bench-validate --record; validate=$$?; \
	$(BIN)/dq bench-360 --record --engines duckdb; c360=$$?; exit $$((ldz || vault || validate || c360))

lock: $(STAMP)  ## refresh constraints.txt (the full transitive lock) from the current venv
	$(BIN)/pip freeze --exclude-editable --disable-pip-version-check | grep -v '^-e ' > constraints.txt

clean:
	rm -rf target logs warehouse data reports site .pytest_cache
