# make test: set up .venv with the dev tools and run ruff, mypy and pytest (what CI runs).
# make up / preview / destroy / outputs: the Pulumi workflow on a local state backend (.pulumi/).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: test lint typecheck unit up preview destroy outputs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# shellcheck: every tracked *.sh (every *.sh outside .venv/.pulumi when this is not a git checkout).
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	{ git ls-files -z -- '*.sh' 2>/dev/null || find . \( -path ./.venv -o -path ./.pulumi -o -path ./.git \) -prune -o -name '*.sh' -type f -print0; } \
	  | xargs -0 -r $(BIN)/shellcheck

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

unit: $(VENV)/.dev-installed
	$(BIN)/pytest

test: lint typecheck unit

up preview destroy outputs: $(VENV)/.installed
	STACK=$(STACK) scripts/pulumi-stack.sh $@

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
