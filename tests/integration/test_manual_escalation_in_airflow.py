"""The manual escalation DAG triggered in Airflow with good and bad forms, on the ledger it shares."""

from __future__ import annotations

import json
from datetime import date

import pytest

from outreach import pipeline
from outreach.ledger import Ledger
from outreach.settings import Settings
from tests.airflow_env import AIRFLOW, OUTREACH, run

pytestmark = pytest.mark.airflow
DAG = "manual_escalation"
LOGICAL_DATE = "2026-11-20T18:00:00+00:00"
BUSINESS_DATE = date(2026, 11, 20)
REASON = "asked for a person to call back"


@pytest.fixture
def pulled(airflow_env, tmp_path):
    """The day's accounts pulled into the ledger, as the campaign DAGs' first tasks leave them."""
    env = airflow_env(OUTREACH_CLOCK="logical")
    assert run([OUTREACH, "sample", "--accounts", "200", "--date", str(BUSINESS_DATE)], env).returncode == 0
    settings = Settings.from_env(env)
    pipeline.segment(pipeline.pull(BUSINESS_DATE, "scheduled__pull", settings), settings)
    ledger = Ledger.from_url(settings.ledger_url)
    yield env, ledger
    ledger.dispose()


def trigger(env, **conf):
    result = run([AIRFLOW, "dags", "test", DAG, LOGICAL_DATE, "-c", json.dumps(conf)], env)
    return result.stdout + result.stderr


def test_a_person_escalates_accounts_from_the_form_and_the_run_records_them(pulled):
    env, ledger = pulled
    snapshot = ledger.snapshot(BUSINESS_DATE)
    m2 = snapshot[(snapshot["bucket"] == "M2") & (snapshot["flags"] == "")]["account_id"].head(2).tolist()
    m1 = snapshot[snapshot["bucket"] == "M1"]["account_id"].iloc[0]
    output = trigger(
        env,
        target_stage="m2_plus/agent-callback",
        account_ids=" ".join([*m2, m1]),
        reason=REASON,
        dry_run=False,
    )
    assert "DagRun Finished" in output and "state=success" in output, output[-3000:]
    (escalation_id,) = ledger.escalations_of(m2[0])["id"].tolist()
    request, accounts = ledger.escalation(escalation_id)
    # `airflow dags test` runs as the user "dag_test"; from the UI it is the person logged in.
    assert (request["requested_by"], request["reason"], request["dry_run"]) == ("dag_test", REASON, False)
    assert dict(zip(accounts["account_id"], accounts["outcome"], strict=True)) == {
        m2[0]: "escalated",
        m2[1]: "escalated",
        m1: "refused",
    }
    assert sorted(ledger.handoffs(kind=["agent_queue"])["account_id"]) == sorted(m2)
    assert "Manual escalation #1 (applied)" in output and "in bucket M1, which m2_plus does not serve" in output


def test_a_reason_too_short_is_refused_by_the_form_before_anything_runs(pulled):
    env, ledger = pulled
    output = trigger(env, target_stage="m2_plus/agent-callback", account_ids="AC00000011", reason="ok")
    assert "ParamValidationError: Invalid input for param reason: 'ok' is too short" in output
    assert ledger.escalations_of("AC00000011").empty


def test_a_request_naming_both_ids_and_a_segment_fails_without_retrying_and_says_why(pulled):
    env, ledger = pulled
    output = trigger(
        env,
        target_stage="m2_plus/agent-callback",
        account_ids="AC00000011",
        segment="high-balance-60-plus",
        reason=REASON,
        dry_run=False,
    )
    assert "account_ids, segment: give account ids or a saved segment, not both" in output
    assert "new_state=failed" in output and "up_for_retry" not in output
    assert ledger.escalations_of("AC00000011").empty
