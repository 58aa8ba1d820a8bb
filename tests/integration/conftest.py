"""Airflow itself for the tests that run DAGs: a metadata database migrated once per session, and
fresh PostgreSQL databases for the tests that run Airflow's components."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.airflow_env import AIRFLOW, airflow_environment
from tests.stack import fresh_databases, migrated_airflow_template

CHROMIUM = os.environ.get("OUTREACH_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, as a person's browser."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Debian's chromium is not at {CHROMIUM}: `make browser` installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


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


@pytest.fixture(scope="session")
def airflow_template(tmp_path_factory) -> Iterator[str]:
    """Airflow's schema migrated once per session into a PostgreSQL database the stacks copy."""
    with migrated_airflow_template(tmp_path_factory.mktemp("airflow-pg-template")) as name:
        yield name


@pytest.fixture
def databases(airflow_template) -> Iterator[tuple[str, str]]:
    """A migrated Airflow database and an empty ledger database on the PostgreSQL server."""
    with fresh_databases("it", airflow_template) as urls:
        yield urls
