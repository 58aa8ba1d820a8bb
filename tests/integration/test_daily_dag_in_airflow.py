"""A campaign DAG run by Airflow itself (``airflow dags test``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import update

from outreach.accounts.staging import STAGED_NAME
from outreach.ledger import Ledger
from outreach.ledger.schema import account_contacts
from tests.airflow_env import AIRFLOW, OUTREACH, run

pytestmark = pytest.mark.airflow
DAG = "campaign_m1_self_service"
# A Friday, 13:00 in New York: the run is made on that day's clock (OUTREACH_CLOCK=logical).
LOGICAL_DATE = "2026-11-20T18:00:00+00:00"
BUSINESS_DATE = date(2026, 11, 20)
DAY_BEFORE = "2026-11-19T18:00:00+00:00"


def ledger_setting(database: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The ledger the tasks use: the embedded SQLite file by default, or a fresh PostgreSQL database."""
    if database != "postgresql":
        return {}
    url = request.getfixturevalue("postgres_ledger").engine.url.render_as_string(hide_password=False)
    return {"OUTREACH_LEDGER_URL": url}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_daily_dag_runs_in_airflow_and_a_rerun_sends_nothing_twice(database, airflow_env, tmp_path, request):
    extra = ledger_setting(database, request)
    env = airflow_env(OUTREACH_CLOCK="logical", **extra)
    assert run([OUTREACH, "sample", "--accounts", "400", "--date", str(BUSINESS_DATE)], env).returncode == 0

    first = run([AIRFLOW, "dags", "test", DAG, LOGICAL_DATE], env)
    assert first.returncode == 0, first.stdout[-4000:]
    assert "state=success" in first.stdout + first.stderr

    business_date = BUSINESS_DATE
    ledger = Ledger.from_url(extra.get("OUTREACH_LEDGER_URL") or f"sqlite:///{tmp_path / 'outreach' / 'ledger.db'}")
    attempts_after_first = ledger.attempts_for(business_date)
    report = json.loads((tmp_path / "outreach" / "reports" / f"{business_date}-m1_self_service.json").read_text())
    assert report["accepted"] == 400 and report["quarantined"] == 9
    assert sum(report["sent_by_channel"].values()) == (attempts_after_first["status"] == "sent").sum()
    assert len(attempts_after_first) > 0

    second = run([AIRFLOW, "dags", "test", DAG, LOGICAL_DATE], env)
    assert second.returncode == 0, second.stdout[-4000:]
    attempts_after_second = ledger.attempts_for(business_date)
    assert attempts_after_second["step_key"].is_unique
    rerun_report = json.loads((tmp_path / "outreach" / "reports" / f"{business_date}-m1_self_service.json").read_text())
    assert rerun_report["already_sent_earlier"] == len(attempts_after_first)
    assert sum(rerun_report["sent_by_channel"].values()) == len(attempts_after_second) - len(attempts_after_first)
    ledger.dispose()


def test_a_missing_accounts_file_fails_the_pull_task_with_its_name(airflow_env, tmp_path):
    env = airflow_env(OUTREACH_ACCOUNTS_FILE=str(tmp_path / "drop" / "accounts-missing.csv"))
    result = run([AIRFLOW, "tasks", "test", DAG, "pull", datetime.now().isoformat()], env)
    output = result.stdout + result.stderr
    assert "SourceError: accounts file" in output and "accounts-missing.csv does not exist" in output
    assert "new_state=up_for_retry" in output  # a late file drop gets another chance


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_segmentation_whose_staged_accounts_are_gone_fails_at_once_and_says_to_pull_again(
    database, airflow_env, tmp_path, request
):
    env = airflow_env(OUTREACH_CLOCK="logical", **ledger_setting(database, request))
    assert run([OUTREACH, "sample", "--accounts", "60", "--date", str(BUSINESS_DATE)], env).returncode == 0
    day = run([AIRFLOW, "dags", "test", DAG, LOGICAL_DATE], env)
    assert day.returncode == 0, day.stdout[-4000:]
    # Kept past OUTREACH_STAGED_DAYS, a later pull would have removed them.
    [staged] = (tmp_path / "outreach" / "runs").glob(f"*/{STAGED_NAME}")
    staged.unlink()

    again = run([AIRFLOW, "tasks", "test", DAG, "segment", LOGICAL_DATE], env)
    output = again.stdout + again.stderr
    assert "AirflowFailException" in output and "are gone" in output and "Run the pull again" in output
    assert "new_state=failed" in output
    assert "up_for_retry" not in output, "retrying cannot bring the file back"


def test_a_segmentation_whose_contact_details_changed_since_its_pull_fails_at_once_and_says_to_pull_again(
    airflow_env, postgres_ledger
):
    ledger_url = postgres_ledger.engine.url.render_as_string(hide_password=False)
    env = airflow_env(OUTREACH_CLOCK="logical", OUTREACH_LEDGER_URL=ledger_url)
    assert run([OUTREACH, "sample", "--accounts", "60", "--date", str(BUSINESS_DATE)], env).returncode == 0
    # The day before, then the day itself: its pull finds every account's details as the day before's
    # versions hold them, and leaves them out of what it stages.
    for logical_date in (DAY_BEFORE, LOGICAL_DATE):
        day = run([AIRFLOW, "dags", "test", DAG, logical_date], env)
        assert day.returncode == 0, day.stdout[-4000:]
    # Meanwhile another run gave one account other details in the ledger.
    with postgres_ledger.engine.begin() as conn:
        conn.execute(
            update(account_contacts)
            .where(account_contacts.c.account_id == "AC00000007")
            .values(contact_hash=account_contacts.c.contact_hash + 1, mobile_phone="+12125550999")
        )

    again = run([AIRFLOW, "tasks", "test", DAG, "segment", LOGICAL_DATE], env)
    output = again.stdout + again.stderr
    assert "AirflowFailException" in output and "run the pull again" in output
    assert "new_state=failed" in output
    assert "up_for_retry" not in output, "retrying cannot make the staged accounts current"


def test_a_run_whose_credentials_are_refused_ends_failed_and_says_why(airflow_env, sandbox):
    env = airflow_env(
        OUTREACH_CLOCK="logical",
        OUTREACH_CHANNELS="sandbox",
        OUTREACH_SANDBOX_URL=sandbox.url,
        TWILIO_AUTH_TOKEN="rotated-yesterday",
        SENDGRID_API_KEY="SG.revoked",
    )
    sandbox.configure(sendgrid_api_key="SG.current")
    assert run([OUTREACH, "sample", "--accounts", "100", "--date", str(BUSINESS_DATE)], env).returncode == 0

    result = run([AIRFLOW, "dags", "test", DAG, LOGICAL_DATE], env)
    output = result.stdout + result.stderr
    assert "DagRun Finished" in output and "state=failed" in output
    assert "AirflowFailException" in output and "refused our credentials" in output
    assert "up_for_retry" not in output, "a refusal would repeat: the task fails at once for a person"
    assert sandbox.accepted("twilio") == [] and sandbox.accepted("sendgrid") == []
