# The front door. `make run` and `make test` set everything up themselves; `make help` lists targets.
# Nothing here downloads a Python interpreter: uv uses the machine's python3.11.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := mm_proto mm_runtime mm_cli mm_bybit mm_sim mm_orderbook md_gateway quoter risk executor ledger recorder mm_soak mm_backtest
FUZZ_RUNS ?= 300000
COVERAGE ?= 1
CARGO_DENY_VERSION := 0.20.2
CARGO_DENY := $(TOOLS)/cargo-deny-$(CARGO_DENY_VERSION)/bin/cargo-deny

export UV_PYTHON_DOWNLOADS := never
# The interpreter's real path: a pyenv shim and its target would look like two interpreters to uv,
# which would then rebuild the venv whenever the other one was used last.
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
# Compiled bytecode goes to one tree of its own, none beside the sources. Every process the tests
# start (services, the simulator, `mm`) then loads it instead of compiling each module again:
# without it a process spends about half its start-up compiling (0.5 of 1.0 s CPU for `mm`).
# Not inside .venv: the first Python run on a fresh clone (making .tools) would create .venv as a
# plain directory, which uv then refuses as "not a valid Python environment".
# Set empty rather than unset: an inherited PYTHONDONTWRITEBYTECODE=1 would keep the tree empty.
PYCACHE := .pycache
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(PYCACHE)
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help setup browser monitoring run test test-python test-rust lint lint-mypy lint-deny format bench fuzz chaos soak schema clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, found {sys.version.split()[0]} at {sys.executable}"'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup: $(UV) ## Create .venv with the locked dependencies and build the Rust extension (idempotent)
	$(UV) sync --locked

# Chromium renders `mm report --html` in a test. Installed from Debian's packages only, and only
# where the machine is Debian and we are root; anywhere else this says what to do instead.
browser: ## Install Chromium (Debian, as root) for the report page's render test
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ -f /etc/debian_version ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "note: the report render test needs Chromium; install your system's chromium package"; fi

# Prometheus and Alertmanager run in the monitoring tests. Debian's packages only, and only where the
# machine is Debian and we are root; anywhere else this says what to do (and those tests skip).
monitoring: ## Install prometheus and prometheus-alertmanager (Debian, as root)
	@if command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null; then :; \
	elif [ -f /etc/debian_version ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends prometheus prometheus-alertmanager; \
	else echo "note: the monitoring tests need Prometheus and Alertmanager; install your system's" \
		"prometheus and prometheus-alertmanager packages (they skip without them)"; fi

run: setup ## Start the local stack (NATS, simulator, five services) and show what it is doing
	$(PY) -m mm_cli run

test: setup browser monitoring test-rust test-python ## Run every test (cargo, then pytest)

test-rust:
	cargo test --workspace --quiet

# Three passes. Tests that start no whole stack run on PYTEST_WORKERS processes (pytest-xdist):
# they mostly wait on sockets and child processes, and each starts its own servers on free ports.
# System tests (marker `system`: a whole stack) whose bounds are roomy (marker `beside_others`)
# then run two at a time, a file per worker (module-scoped stacks are started once). The rest,
# judged on sub-second or latency bounds (drills, frozen inputs, alerts, fidelity), run alone.
# Each pass prints its slowest tests. Coverage includes the services, the simulator and `mm`
# started as subprocesses by the tests (`[tool.coverage.run] patch = ["subprocess"]`, parallel
# data files); COVERAGE=0 runs pytest alone. The last pass runs without coverage: tracing every
# line of every child slows each process several-fold, which distorts exactly the sub-second
# bounds those tests judge, and what they run is covered by the passes before.
PYTEST_WORKERS ?= 2
PYTEST = $(if $(filter 0,$(COVERAGE)),$(VENV)/bin/pytest,$(VENV)/bin/coverage run -m pytest) -q --durations=8
test-python:
	rm -f .coverage .coverage.*
	$(PYTEST) -n $(PYTEST_WORKERS) -m "not system"
	$(PYTEST) -n $(PYTEST_WORKERS) --dist loadfile -m "system and beside_others"
	$(VENV)/bin/pytest -q --durations=8 -m "system and not beside_others"
ifneq ($(COVERAGE),0)
	$(VENV)/bin/coverage combine -q
	$(VENV)/bin/coverage report
endif

# The same checks run on each commit once `.venv/bin/pre-commit install` is done
# (.pre-commit-config.yaml calls lint-mypy and lint-deny).
lint: setup ## Formatting, lint, types, stubs, clippy, crate licenses, secret scan
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	@$(MAKE) --no-print-directory lint-mypy
	$(PY) -m mypy.stubtest mm_orderbook
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --features mm-orderbook/python -- -D warnings
	@$(MAKE) --no-print-directory lint-deny
	$(PY) tools/secret_scan.py

lint-mypy:
	$(VENV)/bin/mypy $(addprefix -p ,$(PACKAGES))
	$(VENV)/bin/mypy tools/secret_scan.py

# Licenses, banned or duplicated crates and where crates come from; offline (no advisory database).
lint-deny: $(CARGO_DENY)
	$(CARGO_DENY) deny --frozen check licenses bans sources

# cargo-deny, pinned, built from crates.io once per checkout into .tools (about 2 minutes on two
# cores). `make clean` removes it with the rest of .tools.
$(CARGO_DENY):
	cargo install --locked --quiet --root $(TOOLS)/cargo-deny-$(CARGO_DENY_VERSION) \
		cargo-deny@$(CARGO_DENY_VERSION)

format: setup ## Apply ruff and cargo formatting
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	cargo fmt --all

bench: setup ## Run the benchmarks and print their tables
	@for script in bench/bench_*.py; do [ -e "$$script" ] || continue; echo "== $$script"; $(PY) "$$script" || exit 1; done

fuzz: ## Fuzz the raw-frame parser for FUZZ_RUNS inputs (installs cargo-fuzz on first use)
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	mkdir -p crates/orderbook/fuzz/corpus/frame
	cd crates/orderbook && RUSTC_BOOTSTRAP=1 cargo fuzz run frame fuzz/corpus/frame fuzz/seeds/frame \
		-- -runs=$(FUZZ_RUNS) -dict=fuzz/frame.dict

chaos: setup ## Every chaos drill on a live local stack (the short form runs in make test)
	MM_CHAOS_LONG=1 $(VENV)/bin/pytest tests/system -q

DURATION ?= 30m
soak: setup ## Run the stack with faults for DURATION (e.g. make soak DURATION=2h); report in .run/soak
	$(PY) -m mm_soak --duration $(DURATION) --run-dir .run/soak/run --out .run/soak/report

schema: setup ## Regenerate proto/schema from the message Structs
	$(PY) -m mm_proto.schema

clean: ## Remove the virtualenv, tool env and build output
	rm -rf $(VENV) $(TOOLS) $(PYCACHE) target
