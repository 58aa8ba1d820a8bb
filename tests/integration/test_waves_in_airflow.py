"""The day's waves under the real scheduler and triggerer: a paused campaign sends nothing more, even
from a run already under way, and carries on when unpaused, asking the policy again."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from outreach.ledger import Ledger
from tests.days import Book
from tests.stack import BIN, LIVE_STACK, run, running_airflow, stack_environment, wait_until

pytestmark = [pytest.mark.airflow, LIVE_STACK]
DAG = "campaign_m1_self_service"
DAY = date(2026, 11, 20)
# 08:40 in New York, 07:40 in Chicago: the New York debtor can be texted at once, the Chicago one at 09:00 New York.
STARTS_AT = "2026-11-20T13:40:00+00:00"
# Replayed seconds per wall-clock second: Chicago's window opens about a minute after the run starts.
SPEED = "20"


def _airflow(env, *args: str) -> str:
    return subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=120).stdout


def replayed_run(env) -> dict:
    """The run of the replayed day (unpausing also starts today's scheduled run, which is not this test's)."""
    out = _airflow(env, "dags", "list-runs", DAG, "-o", "json")
    rows = [line for line in out.splitlines() if line.startswith("[")]
    runs = json.loads(rows[-1]) if rows else []
    return next((r for r in runs if str(r.get("logical_date", "")).startswith(str(DAY))), {})


def dispatch_state(env) -> str | None:
    out = _airflow(env, "tasks", "states-for-dag-run", DAG, replayed_run(env).get("run_id", ""), "-o", "json")
    rows = [line for line in out.splitlines() if line.startswith("[")]
    states = {row["task_id"]: row["state"] for row in json.loads(rows[-1])} if rows else {}
    return states.get("dispatch")


def run_state(env) -> str | None:
    return replayed_run(env).get("state")


def ops_campaigns(api: str, env) -> dict[str, dict]:
    passwords = json.loads((Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated").read_text())
    user, password = next(iter(passwords.items()))
    token = httpx.post(f"{api}/auth/token", json={"username": user, "password": password}, timeout=30)
    response = httpx.get(
        f"{api}/outreach/api/ops/campaigns",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()["campaigns"]}


def test_pausing_the_campaign_between_two_waves_stops_the_second_until_unpaused(databases, tmp_path):
    airflow_db, ledger_db = databases
    env = stack_environment(tmp_path, airflow_db, ledger_db, "LocalExecutor")
    env.update(
        {"OUTREACH_CLOCK": "logical", "OUTREACH_CLOCK_SPEED": SPEED, "OUTREACH_ACCOUNTS_FILE": str(tmp_path / "a.csv")}
    )
    book = Book(tmp_path / "a.csv")
    book.add("AC-NYC", DAY - timedelta(days=5), mobile_phone="+12125550142", region="NY", postal_code="10001")
    book.add("AC-CHI", DAY - timedelta(days=5), mobile_phone="+13125550142", region="IL", postal_code="60601")
    book.write()
    ledger = Ledger.from_url(ledger_db)

    def sent() -> set[str]:
        attempts = ledger.attempts_for(DAY)
        return set(attempts["account_id"]) if not attempts.empty else set()

    with running_airflow(env, tmp_path / "logs", DAG, migrated=True) as api:
        run(["airflow", "dags", "trigger", DAG, "--logical-date", STARTS_AT], env)
        wait_until(lambda: not ledger.waves(DAY).empty, "the first wave", 150)
        run(["airflow", "dags", "pause", DAG], env)
        assert ops_campaigns(api, env)["m1_self_service"]["paused"], "the Collections page says the campaign is paused"
        first = ledger.waves(DAY).iloc[0]
        assert sent() == {"AC-NYC"} and first["waiting"] == 1, "Chicago waits for its own 08:00"
        assert f"{first['next_wave_at']:%H:%M}" == "14:00"

        # Chicago's instant comes while the campaign is paused: the triggerer wakes the wave, the scheduler holds it.
        wait_until(lambda: dispatch_state(env) == "scheduled", "the second wave to come due", 150)
        time.sleep(10)
        assert sent() == {"AC-NYC"}, "a paused campaign sends nothing, even from a run under way"
        assert len(ledger.waves(DAY)) == 1

        run(["airflow", "dags", "unpause", DAG], env)
        wait_until(lambda: run_state(env) in ("success", "failed"), "the run to finish", 150)
        assert run_state(env) == "success"

    waves = ledger.waves(DAY)
    assert sent() == {"AC-NYC", "AC-CHI"}, "still inside Chicago's window when unpaused: it goes"
    assert len(waves) == 2 and "paused" in (waves.iloc[1]["note"] or ""), waves.to_dict("records")
    assert ledger.steps(DAY, statuses=["pending"]).empty
    ledger.dispose()
