# eventform: every target is idempotent and installs what it needs (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.9.30
UV := .cache/uv-bootstrap/bin/uv
# Node 22 from npm for this platform (package.json optionalDependencies; npm ci installs only the matching one),
# else the machine's own `node` (macOS on Apple silicon: npm has no Node 22 build for it; install Node 22 yourself).
# Always first on PATH, whether or not it exists yet: on a fresh clone `npm ci` creates it during this very make run,
# and a choice made when the Makefile is read would keep the machine's older node for jsii (issue: CI on Node 20).
# JSII_NODE is left to eventform (synthesis/toolchain.py picks this Node 22) and to PATH for everything else.
NODE_PLATFORM := $(shell uname -s | tr A-Z a-z)-$(shell uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')
NODE_BIN := $(CURDIR)/node_modules/node-$(NODE_PLATFORM)/bin
EVENTFORM := .venv/bin/eventform
# The Python of the venvs: the Lambda runtime's (3.12, .python-version) wherever uv finds one on this machine (PATH,
# pyenv, uv's own installs), else 3.11, which the project also admits: CI machines here cannot download a Python.
# Recursive (=): evaluated once uv exists.
PROJECT_PYTHON = $(shell $(UV) python find --no-project 3.12 2>/dev/null || $(UV) python find --no-project 3.11 2>/dev/null)
# checkov's own environment: its exact pins (boto3...) stay out of the project's uv.lock (tools/scan-requirements.in)
SCAN_ENV := .cache/scan-venv

export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export TF_CLI_CONFIG_FILE := $(CURDIR)/.cache/terraform.rc
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
export CHECKPOINT_DISABLE := 1
export EVENTFORM_SCAN_PYTHON := $(CURDIR)/$(SCAN_ENV)/bin/python
# Python processes started here write their bytecode caches even where the machine sets PYTHONDONTWRITEBYTECODE
# (container images do): without them each one compiles what it imports again (tools/compile_bytecode.py).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup browser synth lint validate scan docs test faults demo clean scan-requirements

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --disable-pip-version-check --target .cache/uv-bootstrap uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	@case "$(PROJECT_PYTHON)" in *3.12*) ;; *) echo "make setup: no Python 3.12 here; the venv uses $(PROJECT_PYTHON) while functions run python3.12 (README)" >&2;; esac
	$(UV) sync --frozen --quiet --python "$(PROJECT_PYTHON)"
	@touch $@

# Bytecode caches of both venvs, written once (a few seconds when up to date): every later process starts faster.
.venv/.bytecode: .venv/.synced $(SCAN_ENV)/.synced tools/compile_bytecode.py $(wildcard modules/*.py modules/stacks/*.py)
	.venv/bin/python tools/compile_bytecode.py .venv $(SCAN_ENV)
	@touch $@

$(SCAN_ENV)/.synced: $(UV) tools/scan-requirements.txt pyproject.toml
	$(UV) venv --quiet --allow-existing --python "$(PROJECT_PYTHON)" $(SCAN_ENV)
	$(UV) pip sync --quiet --python $(SCAN_ENV)/bin/python tools/scan-requirements.txt
	@touch $@

scan-requirements: $(UV) ## re-resolve checkov's environment (tools/scan-requirements.in -> .txt); commit the result
	$(UV) pip compile --quiet --no-header --universal --python-version 3.11 tools/scan-requirements.in -o tools/scan-requirements.txt

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.cache/terraform.rc: .venv/.synced
	$(EVENTFORM) toolchain

setup: .venv/.synced $(SCAN_ENV)/.synced .venv/.bytecode node_modules/.installed .cache/terraform.rc ## install Python (uv; checkov in .cache/scan-venv; bytecode caches), Node 22 + cdktn CLI + mermaid (npm), Terraform CLI config

# Debian's chromium for the docs site test, needed by `make test` only (never by setup, lint, synth or scan, so the
# pre-push hook installs no system package); installed with apt-get only when missing and running as root. Otherwise
# a warning: the browser test itself skips with the reason on a laptop and fails under CI=1.
browser: ## headless Chromium for the docs test (apt-get install chromium when missing, as root)
	@if [ -x "$${CHROMIUM:-/usr/bin/chromium}" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
	    || echo "make browser: apt-get install chromium failed; the docs browser test will skip (fail under CI=1)" >&2; \
	else echo "make browser: no chromium at $${CHROMIUM:-/usr/bin/chromium}; as root: apt-get install chromium (or set CHROMIUM=/path); the docs browser test skips (fails under CI=1)" >&2; fi

lint: .venv/.synced ## validate the catalog and environments
	$(EVENTFORM) lint

synth: setup ## synthesize every environment into cdktf.out/
	$(EVENTFORM) synth

validate: synth ## terraform init + validate every synthesized stack
	$(EVENTFORM) validate

scan: synth ## checkov (built-in + policies/) and eventform's checks over every stack, offline; reports/
	$(EVENTFORM) scan

docs: setup ## Markdown + static HTML site of the catalog in site/ (open site/index.html)
	$(EVENTFORM) docs --out site

test: setup browser ## ruff, mypy, catalog lint, synth, scan, then the test suite (synthesis, validate, bad inputs, docs in chromium)
	.venv/bin/ruff check .
	.venv/bin/mypy
	$(EVENTFORM) lint
	$(EVENTFORM) synth
	$(EVENTFORM) scan
	.venv/bin/pytest -q -n auto --dist loadfile --durations=25
	$(SCAN_ENV)/bin/pytest -q tests/policies

faults: setup ## the fault-injection suite alone: signals, kills, concurrent synths, full disk, read-only trees
	.venv/bin/pytest -q tests/faults

demo: setup ## lint, synth every environment, scan, then the local rehearsal on moto (up, publish, run, down)
	$(EVENTFORM) lint
	$(EVENTFORM) synth
	$(EVENTFORM) scan
	$(EVENTFORM) local down
	$(EVENTFORM) local up
	status=0; $(EVENTFORM) local rehearse || status=$$?; $(EVENTFORM) local down; exit $$status

clean: ## remove generated output (keeps installed tools)
	rm -rf cdktf.out reports .pytest_cache site
