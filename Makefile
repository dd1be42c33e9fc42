# Two commands: `make run` (the service with its local Zabbix) and `make test` (the suite).
# Both set up what they need on a fresh Debian 12 machine and skip what is already there.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ENV := source deploy/dev/env.sh && export PATH="$(CURDIR)/$(BIN):$$PATH" &&

.PHONY: run test setup services zabbix dotenv migrate lint format bench clean

# Without NZC_NETBOX_URL, the NetBox simulator runs too (deploy/dev/env.sh).
run: migrate
	$(ENV) if [ -n "$${NZC_DEMO_SIMULATOR:-}" ]; then \
	  exec $(BIN)/honcho start -f deploy/dev/Procfile.demo -d .; \
	else exec $(BIN)/honcho start -f Procfile; fi

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(ENV) $(BIN)/pytest $(PYTEST_ARGS)

setup: services $(STAMP) zabbix dotenv

services:
	bash deploy/dev/services.sh

zabbix: services
	bash deploy/dev/zabbix.sh --quiet

# .env: the development settings make chose, for nzc and the dev tools in a new shell.
dotenv: zabbix
	$(ENV) bash deploy/dev/dotenv.sh

$(STAMP): setup.cfg pyproject.toml | services
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

migrate: setup
	$(ENV) $(BIN)/nzc migrate

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
