"""The ingest benchmark keeps working; its figures are read by people, not asserted here."""

import re
import subprocess
import sys

from tests.airflow_env import PROJECT


def test_the_ingest_benchmark_runs_at_a_small_size():
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "bench" / "ingest.py"),
            *("--accounts", "3000", "--reference-sample", "300", "--overlap"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for phase in ("(a) floor", "(b) pull", "(c) row by row"):
        assert phase in result.stdout
    assert "the same floor with ARROW_DEFAULT_MEMORY_POOL unset" in result.stdout
    assert "b/a =" in result.stdout and "c/b =" in result.stdout
    assert re.search(r"Pipelining could save at most -?\d+\.\d+ s: b/a \d+\.\dx at best", result.stdout)


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


def test_the_whole_day_benchmark_runs_two_days_in_shards_at_a_small_size():
    result = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "day.py"), "--accounts", "300", "--days", "2", "--shards", "2"],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=PROJECT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for day in (1, 2):
        for stage in ("pull + segment", "plan m1_self_service shard 2/2", "dispatch m2_plus (log) shard 1/2", "report"):
            assert f"day {day} {stage}" in result.stdout
    assert "day 2 plan m2_plus on 2 workers" in result.stdout and "x the floor" in result.stdout
    costs = re.findall(
        r"day 1 dispatch m2_plus \(log\) shard \d/2: (\d+) steps \((\d+) due now, (\d+) sent\)", result.stdout
    )
    assert len(costs) == 2 and all(int(steps) >= int(due) >= int(sent) > 0 for steps, due, sent in costs)
    assert "CPU us a step" in result.stdout and " a send" in result.stdout
    changed = re.search(r"day 2: (\d+) of 300 rows changed", result.stderr)
    assert changed and 0 < int(changed.group(1)) < 30, "about 3% of the book changes on day 2"
