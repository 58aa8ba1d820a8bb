"""The ingest benchmark keeps working; its figures are read by people, not asserted here."""

import subprocess
import sys

from tests.airflow_env import PROJECT


def test_the_ingest_benchmark_runs_at_a_small_size():
    result = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "ingest.py"), "--accounts", "3000", "--reference-sample", "300"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for phase in ("(a) floor", "(b) pull", "(c) row by row"):
        assert phase in result.stdout
    assert "b/a =" in result.stdout and "c/b =" in result.stdout


def test_the_dispatch_benchmark_runs_at_a_small_size():
    result = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "dispatch.py"), "--texts", "60", "--emails", "120", "--rate", "40"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "texts, unthrottled" in result.stdout and "of configured" in result.stdout and "emails" in result.stdout


def test_the_ops_view_benchmark_runs_at_a_small_size():
    result = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "ops_view.py"), "--years", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rollup rows (365 days)" in result.stdout and "funnel  over a quarter" in result.stdout


def test_the_whole_day_benchmark_runs_at_a_small_size():
    result = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "day.py"), "--accounts", "300"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for stage in ("pull + segment", "plan m1_self_service", "dispatch m2_plus (log)", "report"):
        assert f"day 1 {stage}" in result.stdout
    assert "x the floor" in result.stdout
