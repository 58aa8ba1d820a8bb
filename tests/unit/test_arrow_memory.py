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


def _run(code: str, **environment: str) -> str:
    env = {name: value for name, value in os.environ.items() if name != ENVIRONMENT_VARIABLE}
    env.update(environment)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=PROJECT, check=True
    )
    return result.stdout.strip()


POOL_AND_PROBLEM = (
    "import pyarrow as pa; from outreach.arrow_memory import arrow_pool_problem; "
    "print(pa.default_memory_pool().backend_name); print(arrow_pool_problem())"
)


def test_a_process_that_loads_the_package_first_allocates_with_jemalloc():
    pool, problem = _run("import outreach, pandas; " + POOL_AND_PROBLEM).splitlines()
    assert (pool, problem) == ("jemalloc", "None")


def test_an_allocator_the_environment_names_is_kept():
    pool, problem = _run(
        "import outreach, pandas; " + POOL_AND_PROBLEM, **{ENVIRONMENT_VARIABLE: "system"}
    ).splitlines()
    assert (pool, problem) == ("system", "None")


def test_a_process_that_loaded_pandas_first_is_told_how_to_mend_it():
    pool, problem = _run("import pandas, outreach; " + POOL_AND_PROBLEM).splitlines()
    assert pool != "jemalloc"
    assert f"Set {ENVIRONMENT_VARIABLE}=jemalloc in the worker's environment" in problem
