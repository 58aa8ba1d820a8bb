"""Policy every DAG in dags/ must meet: it imports cleanly, cheaply, and says who owns it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.airflow_env import PROJECT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_every_dag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "outreach_daily" in dagbag.dags


def test_every_dag_has_tags_an_owner_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} is never retried"


def test_daily_dag_runs_once_a_day_without_catchup(dagbag):
    dag = dagbag.dags["outreach_daily"]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert [t.task_id for t in dag.topological_sort()] == ["pull", "segment", "plan", "dispatch", "report"]
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 9 * * *", "America/New_York")


def test_parsing_a_dag_file_does_no_heavy_work():
    """Importing a DAG file loads neither the domain package nor pandas, and touches no ledger."""
    probe = textwrap.dedent(
        f"""
        import runpy, sys, os
        runpy.run_path({str(PROJECT / "dags" / "outreach_daily.py")!r})
        heavy = sorted(m for m in ("pandas", "outreach", "phonenumbers", "twilio", "sendgrid")
                       if m in sys.modules)
        print("HEAVY", heavy)
        print("LEDGER", os.path.exists(os.path.join(os.environ["OUTREACH_HOME"], "ledger.db")))
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert "LEDGER False" in result.stdout
