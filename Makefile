# One entry point: `make demo` runs the pipeline on the bundled example study,
# `make test` sets up and passes every test, lint, type and layering check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup browser lint typecheck layers pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

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

pytest: $(STAMP) browser
	$(BIN)/pytest

test: lint typecheck layers pytest

# Benchmarks print timings and ratios against peer libraries (minutes; not part of make test).
bench: $(STAMP)
	$(BIN)/python bench/reading_bench.py
	$(BIN)/python bench/estimation_bench.py
	$(BIN)/python bench/inference_size.py
	$(BIN)/python bench/validation_bench.py
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/reliability.py

clean:
	rm -rf $(VENV) work .pytest_cache .mypy_cache .ruff_cache
