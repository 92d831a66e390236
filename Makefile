# Two commands for a new user: `make run` (the whole embedded stack) and `make test` (every test).
# Only Python 3.11+ and make are needed: uv is installed into .tools/ when it is not on PATH.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .tools/bin/uv
endif

.PHONY: run test lint faults install lock clean-var benchmark bench

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

# Compiled to bytecode once here: a machine that writes none at import (PYTHONDONTWRITEBYTECODE)
# would otherwise compile every imported source again in every process (each flow run's).
.venv/.installed: $(UV) pyproject.toml uv.lock Makefile
	$(UV) sync --frozen --compile-bytecode
	@touch $@

install: .venv/.installed

run: install
	.venv/bin/ramq-access run

test: install
	.venv/bin/pytest $(PYTEST_ARGS)

# Style and types: ruff (rules in pyproject.toml) on everything, mypy on models, notifications, flows.
lint: install
	.venv/bin/ruff check .
	.venv/bin/mypy

faults: install
	.venv/bin/pytest -m faults $(PYTEST_ARGS)
	.venv/bin/python -m tests.faults.report

lock: $(UV)
	$(UV) lock

# One simulation on a fresh stack, its latencies printed (BENCH_ARGS="--requests 20 --seed 1").
benchmark: install
	.venv/bin/python -m benchmarks.run $(BENCH_ARGS)

# Every benchmark (not part of `make test`): JSON under benchmarks/results/, the table of
# docs/performance.md. BENCH_ARGS="--quick" for minutes instead of hours, "--only throughput".
bench: install
	.venv/bin/python -m benchmarks.all $(BENCH_ARGS)

clean-var:
	rm -rf var/
