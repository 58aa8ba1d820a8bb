"""The components the compose file runs, run outside containers on the machine's PostgreSQL
(and Redis): migrate, start the API server, scheduler and DAG processor (and a Celery worker),
unpause and trigger the daily DAG, and let the scheduler, not ``dags test``, run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from outreach.ledger import Ledger
from tests.airflow_env import PROJECT, airflow_environment
from tests.servers import free_port

pytestmark = pytest.mark.airflow
BIN = PROJECT / ".venv" / "bin"


def run(args: list[str], env: dict[str, str], timeout: int = 300) -> str:
    result = subprocess.run([str(BIN / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


def stack_environment(tmp_path: Path, airflow_db: str, ledger_db: str, executor: str) -> dict[str, str]:
    port = free_port()
    extra = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_db,
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex * 2,
        "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "OUTREACH_LEDGER_URL": ledger_db,
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    if executor == "CeleryExecutor":
        extra.update(
            {
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{int(uuid.uuid4()) % 15 + 1}",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + airflow_db,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
                "AIRFLOW__CELERY__WORKER_LOG_SERVER_PORT": str(free_port()),
            }
        )
    return airflow_environment(tmp_path / "airflow", tmp_path / "outreach", **extra)


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
    run(["airflow", "db", "migrate"], env)
    run(["airflow", "pools", "set", "outreach_providers", "4", "Provider sends"], env)
    run(["outreach", "init"], env)
    run(["outreach", "sample", "--accounts", "300"], env)

    logs = tmp_path / "logs"
    logs.mkdir()
    commands = [
        ["airflow", "api-server", "--port", env["AIRFLOW__API__PORT"]],
        ["airflow", "scheduler"],
        ["airflow", "dag-processor"],
    ]
    if executor == "CeleryExecutor":
        commands.append(["airflow", "celery", "worker"])
    processes = [
        subprocess.Popen(
            [str(BIN / c[0]), *c[1:]],
            env=env,
            stdout=(logs / f"{c[1]}.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for c in commands
    ]
    try:
        deadline = time.monotonic() + 240
        while (
            "campaign_m1_self_service"
            not in subprocess.run(
                [str(BIN / "airflow"), "dags", "list"], env=env, capture_output=True, text=True, timeout=120
            ).stdout
        ):
            assert time.monotonic() < deadline, "the DAG processor never parsed the daily DAG"
            time.sleep(3)
        run(["airflow", "dags", "unpause", "campaign_m1_self_service"], env)
        run(["airflow", "dags", "trigger", "campaign_m1_self_service"], env)
        wait_for_success(env, time.monotonic() + 300)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    ledger = Ledger.from_url(ledger_db)
    with ledger.engine.connect() as conn:
        finished = conn.execute(text("SELECT count(*) FROM pipeline_runs WHERE finished_at IS NOT NULL")).scalar()
        claimed = conn.execute(text("SELECT count(*) FROM attempts")).scalar()
        unique = conn.execute(text("SELECT count(DISTINCT step_key) FROM attempts")).scalar()
    ledger.dispose()
    assert finished >= 1
    assert claimed > 0 and claimed == unique
