# Atende developer commands. `make dev` starts the local stack; `make test` runs every check.
SHELL := /bin/bash
# Python 3.13 (the Lambda runtime): a pyenv install if there is one, else a python3.13 that really runs.
PYTHON313 ?= $(shell ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -1 | grep . || (python3.13 -c "" 2>/dev/null && command -v python3.13))
VENV := .venv
TOOLS := .tools
PEERS := .bench-peers
PY := $(VENV)/bin/python
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
TEST_WORKERS ?= 2
# Environments are filled by uv (resolves and downloads in parallel: a fresh .venv in seconds, not minutes); the
# other environments are made by .venv's uv too (no pip of their own: `python -m venv` spends seconds on it).
UV_PIN := uv==0.13.8
UV := $(VENV)/bin/uv
# Every command here may write bytecode caches (__pycache__, ignored by git), whatever the caller's environment
# says: with PYTHONDONTWRITEBYTECODE set, each process of a test run (pytest and its workers, every function
# container, the local stack, sam) compiled the same sources again: ~15 s of CPU per pytest process alone.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help dev test test-tests test-static test-one venv tools bench-peers js-deps langchain-env lint typecheck unit integration e2e browser screenshots sam-validate sam-build bench openapi clean chaos
# `make` alone lists the targets (the first rule below is a file, not something to run by accident).
.DEFAULT_GOAL := help

## List the targets with what they do
help:
	@awk '/^## /{doc=substr($$0, 4); next} /^[a-z][a-z0-9-]*:/{if (doc) printf "  %-14s %s\n", substr($$1, 1, index($$1, ":") - 1), doc} {doc=""}' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is required (the Lambda runtime). Install it, or set PYTHON313=/path/to/python3.13"; exit 1; }
	$(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet $(UV_PIN)
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'
	touch $@

$(TOOLS)/.installed: requirements-tools.txt | $(VENV)/.installed
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is required for SAM CLI builds."; exit 1; }
	$(UV) venv --quiet --allow-existing --python $(PYTHON313) $(TOOLS)
	$(UV) pip install --quiet --python $(TOOLS)/bin/python -r requirements-tools.txt
	touch $@

# LiteLLM's proxy, the benchmark's peer: its own environment, never a dependency of Atende.
$(PEERS)/.installed: requirements-bench-peer.txt | $(VENV)/.installed
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is required for the benchmark peer."; exit 1; }
	$(UV) venv --quiet --allow-existing --python $(PYTHON313) $(PEERS)
	$(UV) pip install --quiet --python $(PEERS)/bin/python -r requirements-bench-peer.txt
	touch $@

## Create .venv (the app and its dev tools, from pyproject.toml)
venv: $(VENV)/.installed
## Create .tools (SAM CLI and cfn-lint, from requirements-tools.txt)
tools: $(TOOLS)/.installed
## Create .bench-peers (LiteLLM's proxy, from requirements-bench-peer.txt), which `make bench` compares with
bench-peers: $(PEERS)/.installed

JS := tests/e2e/js
$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20+ and npm are required for the JavaScript SDK's e2e tests."; exit 1; }
	cd $(JS) && npm ci --no-audit --no-fund --silent
	touch $@

## Install the OpenAI JavaScript SDK the e2e tests run docs/integrations/openai-javascript.md with (npm ci)
js-deps: $(JS)/node_modules/.installed

# LangChain in its own environment: its pins need not agree with the app's.
LANGCHAIN := .langchain
$(LANGCHAIN)/.installed: tests/e2e/langchain/requirements.txt | $(VENV)/.installed
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is required for the LangChain e2e tests."; exit 1; }
	$(UV) venv --quiet --allow-existing --python $(PYTHON313) $(LANGCHAIN)
	$(UV) pip install --quiet --python $(LANGCHAIN)/bin/python -r tests/e2e/langchain/requirements.txt
	touch $@

## Create .langchain (langchain-openai, which the e2e tests run docs/integrations/langchain.md with)
langchain-env: $(LANGCHAIN)/.installed

## Start Atende locally: embedded AWS on loopback, demo tenant seeded, API on http://127.0.0.1:3000 (or PORT)
dev: venv
	$(PY) -m devtools.stack

## Every check: lint, types, unit, integration, e2e, the chaos suite, the console in Chromium, sam validate, sam build
# Two chains side by side after the quick checks. The tests (`test-tests`) at normal CPU priority: every test but
# the `serial` ones in TEST_WORKERS pytest-xdist processes, then the serial ones (many threads at once, or timed
# against a deadline, the chaos suite among them) one at a time, then the console in Chromium. The static checks
# (`test-static`: mypy, sam validate, sam build), which time nothing, beside them at a lower CPU priority: they
# take what the tests leave idle (the serial tests keep about one core busy) and yield it whenever a test asks.
test:
	$(MAKE) --no-print-directory -j 4 --output-sync=target venv tools js-deps langchain-env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m devtools.openapi --check
	$(MAKE) --no-print-directory -j 2 --output-sync=target test-tests test-static

# The tests of `make test` (see there), one stage after another: a timed test never shares the CPU with the bulk.
test-tests: venv
	$(VENV)/bin/pytest tests/unit tests/integration tests/e2e -m "not serial" -n $(TEST_WORKERS) --durations=15
	$(VENV)/bin/pytest tests/integration -m serial --durations=15
	$(VENV)/bin/pytest tests/browser

STATIC_NICE ?= 10
# The static checks of `make test`, at CPU priority STATIC_NICE below the tests.
test-static: venv tools
	nice -n $(STATIC_NICE) $(VENV)/bin/mypy
	nice -n $(STATIC_NICE) $(MAKE) --no-print-directory sam-validate sam-build

## One test, a file or a folder: make test-one T=tests/unit/test_redaction.py::test_empty_text
test-one: venv
	@test -n "$(T)" || { echo "usage: make test-one T=tests/unit/test_x.py::test_y"; exit 2; }
	$(VENV)/bin/pytest $(T)

## ruff check and ruff format --check
lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

## mypy
typecheck: venv
	$(VENV)/bin/mypy

## Unit tests (no sockets)
unit: venv
	$(VENV)/bin/pytest tests/unit
## Integration tests (moto server and the fake upstream on loopback)
integration: venv
	$(VENV)/bin/pytest tests/integration

## The chaos suite: a few hundred turns under DynamoDB and upstream faults (CHAOS_SEED=… replays a run)
chaos: venv
	$(VENV)/bin/pytest tests/integration/test_chaos.py -m chaos -s
## End-to-end tests against the running local stack
e2e: venv js-deps langchain-env
	$(VENV)/bin/pytest tests/e2e

## The console in headless Chromium (apt: chromium) against a local stack the tests start
browser: venv
	$(VENV)/bin/pytest tests/browser

## Screenshots of the console's main screens into docs/console/ (demo data, headless Chromium)
screenshots: venv
	$(PY) -m devtools.console_screenshots

## sam validate --lint
sam-validate: tools
	$(TOOLS)/bin/sam validate --lint --template template.yaml

## sam build with Python 3.13
sam-build: tools
	PATH="$$(dirname $(PYTHON313)):$$PATH" $(TOOLS)/bin/sam build --template template.yaml --build-dir .aws-sam/build

## Regenerate the merged OpenAPI document served at /openapi.json
openapi: venv
	$(PY) -m devtools.openapi

## Benchmarks (beside LiteLLM's proxy, with the AWS cost model): writes bench/results.md
bench: venv bench-peers
	$(PY) -m bench

## Remove the environments, build output and caches
clean:
	rm -rf .aws-sam $(VENV) $(TOOLS) $(PEERS) $(LANGCHAIN) $(JS)/node_modules .pytest_cache .ruff_cache .mypy_cache
