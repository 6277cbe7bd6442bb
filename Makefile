# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv (Python 3.11) when it is missing; every install goes through constraints.txt,
# which pins torch to the CPU wheel so no CUDA packages are pulled. The venv's bundled pip installs
# it as it is (pip 23.2 resolves the same set): no pip upgrade first, which cost every fresh run time.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP    := $(BIN)/python -m pip
# Test files run on this many pytest-xdist workers (a file stays on one worker, so its fixtures are
# shared); much of the suite waits on real servers (Flower, PostgreSQL, uvicorn, Streamlit, Chromium).
TEST_WORKERS ?= 2

# Egress rule: no telemetry, no update checks, nothing but loopback in tests and demo.
export FLWR_TELEMETRY_ENABLED := 0
export FLWR_DISABLE_UPDATE_CHECK := 1
export MPLBACKEND := Agg
export PYTHONUNBUFFERED := 1

.PHONY: env demo test lint bench screenshots clean help

help:  ## List the targets.
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 (or set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

env: $(STAMP)  ## Create .venv and install the kit (editable) with its dev tools.

demo: env  ## Run a whole consortium on the embedded synthetic default.
	$(BIN)/consortium demo --out demo_output

test: env  ## Run the test suite (starts PostgreSQL on loopback when it can be installed).
	-@bash scripts/ensure_test_servers.sh
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout=900 -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25 --nbmake tests notebooks

lint: env  ## ruff, mypy and the import-layer contracts.
	$(BIN)/ruff check consortium dashboards tests benchmarks
	$(BIN)/mypy consortium dashboards
	$(BIN)/lint-imports

bench: env  ## Run the benchmarks and print their results (see benchmarks/RESULTS.md).
	$(BIN)/python -m benchmarks.run_all

screenshots: env  ## Refresh docs/screenshots/ (every dashboard page, DB and URL mode, checked in headless Chromium).
	bash scripts/screenshots.sh

clean:  ## Remove the environment and generated outputs.
	rm -rf $(VENV) demo_output .consortium .pytest_cache
