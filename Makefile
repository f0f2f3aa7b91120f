# Every developer command. `make help` lists them.
PYTHON ?= python3
PIP := $(PYTHON) -m pip
PYTEST := $(PYTHON) -m pytest

.DEFAULT_GOAL := help
.PHONY: help install demo test test-deps test-rust test-python test-conformance lint bench report

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install:  ## build the release extension and install fusion-flow
	$(PIP) install .

demo: install  ## install, then run the demo on the embedded runtime
	fusion-flow demo

test: test-deps lint test-rust test-python test-conformance  ## install test dependencies, run every test

test-deps:  ## install fusion-flow (editable, release build) with the test dependencies
	$(PIP) install -e '.[test]'

test-rust:  ## the Rust crates' tests (the extension crate needs a Python to link against)
	cargo test --workspace --exclude ff-python

test-python:  ## fusion-flow's own Python tests
	$(PYTEST) tests

# Both backends always run, then the coverage table is written; the target fails if either did.
test-conformance:  ## the conformance suite on fusion-flow and on real Ray, then docs/conformance.md
	status=0; \
	$(PYTEST) conformance_tests --backend=fusion_flow || status=1; \
	$(PYTEST) conformance_tests --backend=ray || status=1; \
	$(PYTHON) conformance_tests/coverage_table.py || status=1; \
	exit $$status

lint:  ## rustfmt, clippy (warnings are errors) and ruff
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

bench:  ## side-by-side benchmarks against Ray (writes benchmarks/results/)
	$(PYTHON) -m benchmarks.run

report:  ## the side-by-side report: workloads, charts, Ray's microbenchmark (results/report.md)
	$(PIP) install -e '.[bench]'
	$(PYTHON) -m benchmarks.workloads_report
