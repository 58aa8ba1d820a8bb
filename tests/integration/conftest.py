"""Airflow itself for the tests that run DAGs: a metadata database migrated once per session, and
fresh PostgreSQL databases for the tests that run Airflow's components."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.airflow_env import AIRFLOW, airflow_environment
from tests.stack import fresh_databases


@pytest.fixture(scope="session")
def migrated_airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-template")
    env = airflow_environment(home, home / "unused")
    result = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pool = subprocess.run(
        [AIRFLOW, "pools", "set", "outreach_providers", "4", "Provider sends"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pool.returncode == 0, pool.stderr[-3000:]
    return home


@pytest.fixture
def airflow_env(migrated_airflow_home: Path, tmp_path: Path):
    def make(**extra: str) -> dict[str, str]:
        home = tmp_path / "airflow"
        if not home.exists():
            shutil.copytree(migrated_airflow_home, home)
        return airflow_environment(home, tmp_path / "outreach", **extra)

    return make


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    with fresh_databases("it") as urls:
        yield urls
