"""The components the compose file runs, run outside containers on the machine's PostgreSQL
(and Redis): migrate, start the API server, scheduler, DAG processor and triggerer (and a
Celery worker), unpause and trigger the daily DAG, and let the scheduler, not ``dags test``,
run it, through every wave of the replayed day."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from sqlalchemy import text

from outreach.ledger import Ledger
from tests.stack import BIN, run, running_airflow, stack_environment

pytestmark = pytest.mark.airflow
NINE_IN_NEW_YORK = "2026-11-20T14:00:00+00:00"


def wait_for_success(env: dict[str, str], deadline: float) -> list[dict]:
    runs: list[dict] = []
    while time.monotonic() < deadline:
        out = subprocess.run(
            [str(BIN / "airflow"), "dags", "list-runs", "campaign_m1_self_service", "-o", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        lines = [line for line in out.splitlines() if line.startswith(("[{", "[]"))]
        runs = json.loads(lines[-1]) if lines else []
        if any(r["state"] == "failed" for r in runs):
            pytest.fail(f"a DAG run failed: {runs}")
        if any(r["state"] == "success" for r in runs):
            return runs
        time.sleep(3)
    pytest.fail(f"no DAG run succeeded in time: {runs}")


@pytest.mark.parametrize("executor", ["LocalExecutor", "CeleryExecutor"])
def test_the_scheduler_runs_the_daily_dag_on_postgresql(executor, databases, tmp_path):
    airflow_db, ledger_db = databases
    env = stack_environment(tmp_path, airflow_db, ledger_db, executor)
    # A replay of a past day at its scheduled time: its later waves have all come, and go one after another.
    env["OUTREACH_CLOCK"] = "logical"
    run(["outreach", "sample", "--accounts", "300", "--date", "2026-11-20"], env)
    with running_airflow(env, tmp_path / "logs", "campaign_m1_self_service"):
        run(["airflow", "dags", "trigger", "campaign_m1_self_service", "--logical-date", NINE_IN_NEW_YORK], env)
        wait_for_success(env, time.monotonic() + 300)

    ledger = Ledger.from_url(ledger_db)
    with ledger.engine.connect() as conn:
        finished = conn.execute(text("SELECT count(*) FROM pipeline_runs WHERE finished_at IS NOT NULL")).scalar()
        claimed = conn.execute(text("SELECT count(*) FROM attempts")).scalar()
        unique = conn.execute(text("SELECT count(DISTINCT step_key) FROM attempts")).scalar()
        waves = conn.execute(text("SELECT count(*) FROM dispatch_waves")).scalar()
        pending = conn.execute(text("SELECT count(*) FROM planned_steps WHERE status = 'pending'")).scalar()
    ledger.dispose()
    assert finished >= 1
    assert claimed > 0 and claimed == unique
    # The sample book spans Hawaii to Shanghai: a wave for each window that opened, nothing left pending.
    assert waves >= 3 and pending == 0
