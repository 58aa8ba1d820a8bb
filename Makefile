# The two commands a newcomer needs: `make demo` and `make test`.
# Everything else here is the set-up they share, done from nothing on first use.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

export OUTREACH_HOME ?= $(CURDIR)/var
export AIRFLOW_HOME ?= $(OUTREACH_HOME)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES := airflow.* outreach.*
export UV_PYTHON_DOWNLOADS := never
# Arrow's allocator for every process run from here, the live Airflow's tasks included (see outreach/arrow_memory.py).
export ARROW_DEFAULT_MEMORY_POOL ?= jemalloc

.PHONY: demo test setup browser airflow-db airflow clean

## demo: sample accounts, four business days of both campaigns through Airflow, then the reports
DEMO_DAYS := 2026-11-17 2026-11-18 2026-11-19 2026-11-20
demo: setup airflow-db
	rm -rf $(OUTREACH_HOME)/ledger.db $(OUTREACH_HOME)/runs $(OUTREACH_HOME)/handoffs $(OUTREACH_HOME)/reports
	$(BIN)/outreach init
	$(BIN)/outreach sample --date $(lastword $(DEMO_DAYS))
	@echo "Running the campaign DAGs in Airflow for $(DEMO_DAYS), through the local Twilio/SendGrid sandbox ..."
	@OUTREACH_SMS_PER_SECOND=500 OUTREACH_CALLS_PER_SECOND=500 \
		scripts/with-sandbox scripts/demo-days $(OUTREACH_HOME)/dag-runs $(DEMO_DAYS)
	@echo "Every DAG run succeeded."
	@echo
	@$(BIN)/outreach report --date $(lastword $(DEMO_DAYS))
	@echo
	@echo "One account's way up its ladder over those days:"
	@$(BIN)/outreach explain --most-moved
	@echo
	@echo "Each task's log: $(AIRFLOW_HOME)/logs/ (and in the UI); Airflow's services' logs: $(OUTREACH_HOME)/dag-runs/"
	@echo "Agent queue, letters and placements for people: $(OUTREACH_HOME)/handoffs/"
	@echo "Why any account was or was not contacted: $(BIN)/outreach explain AC00000042"
	@echo "See the same runs in the Airflow UI: make airflow, then open http://localhost:8080"
	@echo
	@echo "While make airflow runs, a debtor's self-service page from the link in their last text:"
	@$(BIN)/outreach link --date $(lastword $(DEMO_DAYS)) 2>/dev/null
	@echo "  (the code it texts is written to $(OUTREACH_HOME)/outbox/<today>.jsonl: the log channel stands in for Twilio)"

## test: the whole suite (needs the PostgreSQL server at 127.0.0.1:5432)
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadgroup

## airflow: the Airflow UI on the demo's data (SQLite, LocalExecutor), and the debtors' self-service page
airflow: setup airflow-db
	@echo "Log in as admin; the password is in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"
	@echo "The debtors' self-service page: http://localhost:8091/r/<ref> (make demo prints one link)"
	$(BIN)/outreach self-service --port 8091 & page=$$!; trap 'kill $$page 2>/dev/null' EXIT INT TERM; \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/airflow standalone

setup: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

airflow-db: $(AIRFLOW_HOME)/.migrated

$(AIRFLOW_HOME)/.migrated: $(VENV)/.synced
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || { cat $(AIRFLOW_HOME)/migrate.log; exit 1; }
	$(BIN)/airflow pools set outreach_providers 4 "Concurrent dispatch tasks sending to Twilio and SendGrid" \
		>> $(AIRFLOW_HOME)/migrate.log 2>&1 || { cat $(AIRFLOW_HOME)/migrate.log; exit 1; }
	touch $@

clean:
	rm -rf $(OUTREACH_HOME) $(VENV) $(TOOLS)

## browser: Debian's Chromium, for the test that drives the Airflow UI (installed when missing, as root)
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium for the UI test ..."; \
			apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
		else \
			echo "Chromium is missing at $(CHROMIUM): install Debian's chromium package (the UI test needs it)" >&2; exit 1; \
		fi; \
	fi
