"""The project's processes allocate Arrow memory with jemalloc, and say so when they cannot."""

import os
import subprocess
import sys

import pyarrow as pa
import pytest

from outreach.arrow_memory import ENVIRONMENT_VARIABLE
from tests.airflow_env import PROJECT

pytestmark = pytest.mark.skipif(
    "jemalloc" not in pa.supported_memory_backends(), reason="this Arrow build has no jemalloc"
)

POOL_AND_PROBLEM = (
    "import pyarrow as pa; from outreach.arrow_memory import arrow_pool_problem; "
    "print(pa.default_memory_pool().backend_name); print(arrow_pool_problem())"
)


def _run(code: str, **environment: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != ENVIRONMENT_VARIABLE}
    env.update(environment)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=PROJECT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _pool_and_problem(first: str, **environment: str) -> tuple[str, str]:
    pool, problem = _run(f"import {first}; " + POOL_AND_PROBLEM, **environment).stdout.strip().splitlines()
    return pool, problem


def test_a_process_that_loads_the_package_first_allocates_with_jemalloc():
    assert _pool_and_problem("outreach, pandas") == ("jemalloc", "None")


def test_an_empty_setting_names_no_allocator():
    assert _pool_and_problem("outreach, pandas", **{ENVIRONMENT_VARIABLE: ""}) == ("jemalloc", "None")


def test_an_allocator_the_environment_names_is_kept():
    assert _pool_and_problem("outreach, pandas", **{ENVIRONMENT_VARIABLE: "system"}) == ("system", "None")


def test_a_misspelt_allocator_is_named():
    _, problem = _pool_and_problem("outreach, pandas", **{ENVIRONMENT_VARIABLE: "jemaloc"})
    assert f"{ENVIRONMENT_VARIABLE}=jemaloc names no allocator this Arrow has" in problem


def test_a_pull_in_a_process_that_loaded_pandas_first_says_how_to_mend_it(tmp_path):
    pull = f"""
import pandas  # before the package, as a notebook or another tool might
import logging
from datetime import date
from pathlib import Path
from outreach import pipeline
from outreach.sample import write_sample_parquet
from outreach.settings import Settings

logging.basicConfig(level=logging.WARNING)
home = Path({str(tmp_path)!r})
write_sample_parquet(home / "book.parquet", date(2026, 11, 20), 20)
settings = Settings(
    home=home,
    ledger_url=f"sqlite:///{{home / 'ledger.db'}}",
    accounts_file=home / "book.parquet",
    timezone="America/New_York",
)
ref = pipeline.pull(date(2026, 11, 20), "pandas-first", settings)
print(ref["accepted"])
"""
    result = _run(pull)
    assert result.stdout.strip().splitlines()[-1] == "20"
    assert "Arrow allocates with mimalloc, not jemalloc" in result.stderr
    assert f"Set {ENVIRONMENT_VARIABLE}=jemalloc in the worker's environment" in result.stderr
