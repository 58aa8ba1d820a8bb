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

.PHONY: demo test setup airflow-db airflow clean

## demo: sample accounts, one run of the daily DAG through Airflow, then its report
demo: setup airflow-db
	$(BIN)/outreach init
	$(BIN)/outreach sample
	@echo "Running the daily DAG in Airflow, sending through the local Twilio/SendGrid sandbox ..."
	@OUTREACH_SMS_PER_SECOND=200 OUTREACH_CALLS_PER_SECOND=200 \
		scripts/with-sandbox $(BIN)/airflow dags test outreach_daily > $(OUTREACH_HOME)/last-dag-run.log 2>&1; \
	if ! grep -q "DagRun Finished.*state=success" $(OUTREACH_HOME)/last-dag-run.log; then \
		grep -E "Error|error|Traceback" -A3 $(OUTREACH_HOME)/last-dag-run.log | tail -n 40; \
		echo "The DAG run did not succeed; full log: $(OUTREACH_HOME)/last-dag-run.log"; exit 1; \
	fi
	@echo "The DAG run succeeded."
	@echo
	@$(BIN)/outreach report
	@echo
	@echo "Airflow's log of this run: $(OUTREACH_HOME)/last-dag-run.log"
	@echo "Hand-offs recorded by the log channel (contacts masked): $(OUTREACH_HOME)/outbox/"
	@echo "Why an account was or was not contacted: $(BIN)/outreach explain AC00000042"
	@echo "See the same run in the Airflow UI: make airflow, then open http://localhost:8080"

## test: the whole suite (needs the PostgreSQL server at 127.0.0.1:5432)
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

## airflow: the Airflow UI on the demo's data (SQLite, LocalExecutor)
airflow: setup airflow-db
	@echo "Log in as admin; the password is in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"
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
