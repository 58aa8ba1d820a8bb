"""A running Airflow on PostgreSQL, for the tests and benchmarks that need the real thing.

The same start-up serves them all: migrate, create the providers' pool, initialise the
ledger, start the API server (with the plugin), the scheduler, the DAG processor and the
triggerer (which wakes a day's dispatch for its next wave) (and a Celery worker), wait until
the DAG in question is parsed, and unpause it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.airflow_env import PROJECT, airflow_environment
from tests.conftest import POSTGRES_URL
from tests.servers import free_port

BIN = PROJECT / ".venv" / "bin"
# The tests that start a whole Airflow run one after another on one test worker (``-n 2 --dist
# loadgroup``): two stacks at once on two cores would starve each other's schedulers.
LIVE_STACK = pytest.mark.xdist_group("live_airflow_stack")


def run(args: list[str], env: dict[str, str], timeout: int = 300) -> str:
    """Run one of the project's commands; its output, or an assertion naming what it printed."""
    result = subprocess.run([str(BIN / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


def database_url(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def migrated_airflow_template(work: Path) -> Iterator[str]:
    """A PostgreSQL database holding Airflow's migrated schema and the providers' pool, made once;
    each stack's Airflow database is a copy of it (``fresh_databases(template=...)``), which takes
    a moment where migrating takes most of a minute. Yields its name; dropped afterwards."""
    name = f"airflow_template_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        env = airflow_environment(
            work / "airflow", work / "outreach", AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database_url(name)
        )
        run(["airflow", "db", "migrate"], env)
        run(["airflow", "pools", "set", "outreach_providers", "4", "Provider sends"], env)
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_databases(prefix: str, airflow_template: str | None = None) -> Iterator[tuple[str, str]]:
    """Two new PostgreSQL databases, Airflow's (a copy of ``airflow_template`` when given) and the
    ledger's, as URLs; dropped afterwards."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    names = [f"airflow_{prefix}_{uuid.uuid4().hex[:6]}", f"outreach_{prefix}_{uuid.uuid4().hex[:6]}"]
    with admin.connect() as conn:
        template = f' TEMPLATE "{airflow_template}"' if airflow_template else ""
        conn.execute(text(f'CREATE DATABASE "{names[0]}"{template}'))
        conn.execute(text(f'CREATE DATABASE "{names[1]}"'))
    try:
        yield database_url(names[0]), database_url(names[1])
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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


def api_url(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"


def wait_until(condition, what: str, seconds: float = 120, every: float = 1):
    """Poll ``condition`` until it returns something true, and return that; fail the test naming ``what``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}")


def _wait(condition, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(2)


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/outreach/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _parsed(engine, dag_id: str) -> bool:
    """The DAG processor has written ``dag_id`` to Airflow's database (what ``airflow dags list`` reads)."""
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM dag WHERE dag_id = :d"), {"d": dag_id}).scalar())


def celery_worker(env: dict[str, str], logs: Path, number: int) -> tuple[str, list[str], dict[str, str]]:
    """The ``number``-th Celery worker: a name of its own, which it gives the tasks it runs as their
    hostname (``tests.worker_identity``), its own log server port and pid file."""
    name = f"worker-{number}"
    worker_env = {
        **env,
        "OUTREACH_TEST_WORKER_NAME": name,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.worker_identity.hostname",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")])),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__CELERY__WORKER_LOG_SERVER_PORT": str(free_port()),
    }
    command = ["celery", "worker", "--celery-hostname", f"{name}@%h", "--pid", str(logs / f"{name}.pid")]
    return name, command, worker_env


@contextmanager
def running_airflow(
    env: dict[str, str], logs: Path, dag_id: str, migrated: bool = False, celery_workers: int = 1
) -> Iterator[str]:
    """Airflow's services up on ``env`` with ``dag_id`` parsed and unpaused; yields the API server's URL.

    ``migrated``: Airflow's database is a copy of ``migrated_airflow_template`` (schema and pool).
    ``celery_workers``: how many Celery workers to start, under the CeleryExecutor.
    """
    if not migrated:
        run(["airflow", "db", "migrate"], env)
        run(["airflow", "pools", "set", "outreach_providers", "4", "Provider sends"], env)
    run(["outreach", "init"], env)
    logs.mkdir(parents=True, exist_ok=True)
    services = [
        (command[0], command, env)
        for command in (
            ["api-server", "--port", env["AIRFLOW__API__PORT"]],
            ["scheduler"],
            ["dag-processor"],
            ["triggerer"],
        )
    ]
    if env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor":
        services += [celery_worker(env, logs, number) for number in range(1, celery_workers + 1)]
    processes = [
        subprocess.Popen(
            [str(BIN / "airflow"), *command],
            env=service_env,
            stdout=(logs / f"{name}.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, command, service_env in services
    ]
    airflow_db = create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    try:
        api = api_url(env)
        _wait(lambda: _healthy(api), "the API server", 180)
        _wait(lambda: _parsed(airflow_db, dag_id), f"the DAG processor to parse {dag_id}", 240)
        run(["airflow", "dags", "unpause", dag_id], env)
        yield api
    finally:
        airflow_db.dispose()
        stop(processes)


def stop(processes: list[subprocess.Popen], grace: float = 10) -> None:
    """Stop each service's process group: SIGTERM, and SIGKILL for what is still up after ``grace`` seconds in all."""
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
