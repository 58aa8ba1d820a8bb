"""The components the compose file runs, run outside containers on the machine's PostgreSQL
(and Redis): migrate, start the API server, scheduler, DAG processor and triggerer (and a
Celery worker), unpause the daily DAG, and let the scheduler, not ``dags test``, run its
latest scheduled day, through every wave of that day replayed on its own clock."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from outreach.campaigns import load_campaign
from outreach.ledger import Ledger
from outreach.settings import SHIPPED_CAMPAIGNS
from tests.stack import BIN, LIVE_STACK, run, running_airflow, stack_environment

pytestmark = [pytest.mark.airflow, LIVE_STACK]


def latest_scheduled_day(campaign_id: str) -> date:
    """The business date of the run the scheduler starts when the DAG is unpaused (catch-up off)."""
    campaign = load_campaign(SHIPPED_CAMPAIGNS / f"{campaign_id}.yaml")
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    days = (today - timedelta(days=n) for n in range(8))
    return next(day for day in days if (at := campaign.scheduled_at(day)) is not None and at <= now)


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
    # The run on its logical clock (09:00 New York of its day): every later wave has come, and goes in turn.
    env["OUTREACH_CLOCK"] = "logical"
    business_date = latest_scheduled_day("m1_self_service")
    run(["outreach", "sample", "--accounts", "300", "--date", business_date.isoformat()], env)
    with running_airflow(env, tmp_path / "logs", "campaign_m1_self_service", migrated=True):
        # A busy machine slows the task runners' calls to the execution API (a retried task): minutes, not hours.
        wait_for_success(env, time.monotonic() + 480)

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
