"""The components the compose file runs, run outside containers on the machine's PostgreSQL
(and Redis): migrate, start the API server, scheduler, DAG processor and triggerer (and two
Celery workers), unpause the daily DAG, and let the scheduler, not ``dags test``, run its
latest scheduled day, through every wave of that day replayed on its own clock. Under Celery the
day is split into two shards of the book, and the workers share it."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from outreach import pipeline
from outreach.campaigns import load_campaign
from outreach.ledger import Ledger
from outreach.settings import SHIPPED_CAMPAIGNS, Settings
from tests.days import drive_waves
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


def run_scheduled_day(
    executor: str, databases, tmp_path, celery_workers: int = 1, **settings: str
) -> tuple[dict[str, str], date]:
    """Unpause the daily DAG on a fresh stack and let the scheduler run its latest scheduled day to success."""
    airflow_db, ledger_db = databases
    env = stack_environment(tmp_path, airflow_db, ledger_db, executor)
    # The run on its logical clock (09:00 New York of its day): every later wave has come, and goes in turn.
    env.update({"OUTREACH_CLOCK": "logical", **settings})
    business_date = latest_scheduled_day("m1_self_service")
    run(["outreach", "sample", "--accounts", "300", "--date", business_date.isoformat()], env)
    with running_airflow(
        env, tmp_path / "logs", "campaign_m1_self_service", migrated=True, celery_workers=celery_workers
    ):
        # A busy machine slows the task runners' calls to the execution API (a retried task): minutes, not hours.
        wait_for_success(env, time.monotonic() + 480)
    return env, business_date


def test_the_scheduler_runs_the_daily_dag_on_postgresql(databases, tmp_path):
    _, ledger_db = databases
    run_scheduled_day("LocalExecutor", databases, tmp_path)

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


def test_two_celery_workers_share_a_day_in_shards_and_keep_the_ledger_of_one_pass(databases, tmp_path):
    airflow_db, ledger_db = databases
    env, business_date = run_scheduled_day(
        "CeleryExecutor",
        databases,
        tmp_path,
        celery_workers=2,
        OUTREACH_SHARDS="2",
        # One task at a time per worker: the two shards' plans go to the two workers.
        AIRFLOW__CELERY__WORKER_CONCURRENCY="1",
    )
    airflow = create_engine(airflow_db)
    with airflow.connect() as conn:
        ran = conn.execute(
            text(
                "SELECT task_id, map_index, hostname, state FROM task_instance "
                "WHERE dag_id = 'campaign_m1_self_service' AND task_id IN ('plan', 'dispatch')"
            )
        ).all()
    airflow.dispose()
    assert {(task, index) for task, index, _, state in ran if state == "success"} >= {
        ("plan", 0),
        ("plan", 1),
        ("dispatch", 0),
        ("dispatch", 1),
    }
    assert {host for *_, host, _ in ran} == {"worker-1", "worker-2"}, f"both workers took shards: {ran}"

    # The same day in one pass over the book, in this process, on a ledger of its own.
    twin = Ledger.from_url(f"sqlite:///{tmp_path / 'one-pass.db'}")
    twin.create_schema()
    one_pass = Settings(
        home=tmp_path / "one-pass",
        ledger_url=str(twin.engine.url),
        accounts_file=Path(env["OUTREACH_HOME"]) / "accounts.csv",
        timezone="America/New_York",
    )
    ref = pipeline.segment(pipeline.pull(business_date, "one pass", one_pass), one_pass)
    planned = pipeline.plan(ref, "m1_self_service", one_pass)
    campaign = load_campaign(SHIPPED_CAMPAIGNS / "m1_self_service.yaml")
    drive_waves(planned, one_pass, campaign.scheduled_at(business_date))

    ledger = Ledger.from_url(ledger_db)
    in_shards, whole = decided_and_sent(ledger), decided_and_sent(twin)
    ledger.dispose()
    twin.dispose()
    assert in_shards["sends"] and in_shards["shards"] == [0, 1]
    assert in_shards["steps"] == whole["steps"]
    assert in_shards["sends"] == whole["sends"]


def decided_and_sent(ledger: Ledger) -> dict[str, list]:
    """Each step's decision and reason, and which steps went: what must not depend on how the day was split."""
    with ledger.engine.connect() as conn:
        steps = conn.execute(text("SELECT step_key, decision, rule_ids, reason FROM planned_steps")).all()
        sends = conn.execute(text("SELECT step_key, channel FROM attempts WHERE status = 'sent'")).all()
        shards = conn.execute(text("SELECT DISTINCT shard FROM dispatch_waves WHERE shard IS NOT NULL")).scalars()
        return {"steps": sorted(map(tuple, steps)), "sends": sorted(map(tuple, sends)), "shards": sorted(shards)}
