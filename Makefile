# One entry point: `make demo` runs the pipeline on the bundled example study,
# `make test` sets up and passes every test, lint, type and layering check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every install comes from the lock file (exact versions and hashes for every platform and
# Python >= 3.11), resolved from PyPI alone; `make lock` regenerates it after pyproject.toml
# changes, keeping the versions already locked unless the new requirements exclude them.
LOCK := requirements.lock
UV_VERSION := 0.13.9
UV := $(BIN)/uv
PYPI := https://pypi.org/simple
LOCK_OPTIONS := pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
	--no-config --index-url $(PYPI) --custom-compile-command 'make lock' --quiet
FLOORS := .venv-floors

.PHONY: demo test setup browser lint typecheck layers pytest bench clean lock lock-upgrade \
	lock-check floors wheel-check postgres integration

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'

$(STAMP): pyproject.toml $(LOCK) | $(UV)
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python --require-hashes -r $(LOCK)
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

lock: | $(UV)
	$(UV) pip compile $(LOCK_OPTIONS) -o $(LOCK)

# Moves every locked version to the newest that pyproject.toml allows.
lock-upgrade: | $(UV)
	$(UV) pip compile $(LOCK_OPTIONS) --upgrade -o $(LOCK)

# Fails when pyproject.toml asks for something the lock file does not hold.
lock-check: | $(UV)
	@cp $(LOCK) $(VENV)/lock-check.txt
	@$(UV) pip compile $(LOCK_OPTIONS) -o $(VENV)/lock-check.txt
	@cmp -s $(LOCK) $(VENV)/lock-check.txt || { \
		echo "lock-check: $(LOCK) is out of date with pyproject.toml. Run 'make lock' and commit $(LOCK)."; \
		diff $(LOCK) $(VENV)/lock-check.txt | head -20; exit 1; }
	@echo "lock-check: $(LOCK) matches pyproject.toml"

# The lowest versions pyproject.toml allows for its direct dependencies must pass the
# measurement tests: a floor that does not is raised in pyproject.toml.
floors: | $(UV)
	rm -rf $(FLOORS)
	$(UV) venv --quiet --python $(PYTHON) $(FLOORS)
	$(UV) pip compile pyproject.toml --extra dev --resolution lowest-direct --no-config \
		--index-url $(PYPI) --python $(FLOORS)/bin/python --quiet -o $(FLOORS)/floors.txt
	$(UV) pip install --quiet --compile-bytecode --python $(FLOORS)/bin/python -r $(FLOORS)/floors.txt
	$(UV) pip install --quiet --compile-bytecode --python $(FLOORS)/bin/python --no-deps -e .
	$(FLOORS)/bin/python -m pytest tests/measurement -q -p no:cacheprovider

# A normal (non-editable) install must run: build the sdist and the wheel from it, install
# the wheel with the locked dependencies into a fresh environment, and run the demo and
# `init` from a folder without the source tree.
WHEEL_CHECK := build/wheel-check
wheel-check: | $(UV)
	rm -rf $(WHEEL_CHECK) && mkdir -p $(WHEEL_CHECK)
	$(UV) build --quiet --no-config --index-url $(PYPI) --out-dir $(WHEEL_CHECK)/dist
	$(UV) venv --quiet --python $(PYTHON) $(WHEEL_CHECK)/venv
	$(UV) pip install --quiet --python $(WHEEL_CHECK)/venv/bin/python --require-hashes \
		-r $(LOCK)
	$(UV) pip install --quiet --python $(WHEEL_CHECK)/venv/bin/python --no-deps \
		$(WHEEL_CHECK)/dist/*.whl
	cd $(WHEEL_CHECK) && venv/bin/python -c "import flows.bundled as b, sys; \
		sys.exit(0 if '/site-packages/' in str(b.BUNDLED_DATA) else 'bundled data not from the wheel')"
	cd $(WHEEL_CHECK) && venv/bin/python -c "import sys; from flows.assumptions import \
		default_assumptions as d; sys.exit(0 if d('migration_campaign') else \
		'the wheel finds no default assumptions')"
	cd $(WHEEL_CHECK) && venv/bin/trustshift init new-study --id wheel_check >/dev/null
	cd $(WHEEL_CHECK) && PREFECT_HOME=$$PWD/.prefect venv/bin/trustshift demo --workdir demo \
		--bootstrap-draws 99
	@echo "wheel-check: the wheel installs and runs the demo"

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/trustshift demo

lint: $(STAMP)
	$(BIN)/ruff check measurement flows expectations tests bench
	$(BIN)/ruff format --check measurement flows expectations tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

# The report test renders in headless Chromium (Debian's package); install it when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the report test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v pdftoppm >/dev/null 2>&1 || { \
		echo "installing Debian's poppler-utils for the report's PDF test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; }

pytest: $(STAMP) browser
	$(BIN)/pytest

test: lint typecheck layers pytest

# The integration tests start a throwaway PostgreSQL cluster from Debian's package (initdb and
# pg_ctl in a temporary folder), a Prefect server on it and a process worker; install
# PostgreSQL when missing; with them the tests that start a Prefect server (`integration`).
# `make test` leaves both markers out.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		echo "installing Debian's postgresql for the integration tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

integration: $(STAMP) postgres
	$(BIN)/pytest -m "postgres or integration" tests

# Benchmarks print timings and ratios against peer libraries (minutes; not part of make test).
bench: $(STAMP)
	$(BIN)/python bench/reading_bench.py
	$(BIN)/python bench/estimation_bench.py
	$(BIN)/python bench/inference_size.py
	$(BIN)/python bench/validation_bench.py
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/synthesis_coverage.py
	$(BIN)/python bench/randomization_speed.py
	$(BIN)/python bench/randomization_size.py
	$(BIN)/python bench/design_diagnosis.py
	$(BIN)/python bench/scorecard_simulation.py
	$(BIN)/python bench/scale.py --sizes 10000,100000
	$(BIN)/python bench/reliability.py

clean:
	rm -rf $(VENV) $(FLOORS) work .pytest_cache .mypy_cache .ruff_cache
