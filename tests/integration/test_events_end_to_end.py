"""Callbacks from the provider sandbox to the plugin in a live Airflow API server, and the events DAG
that the scheduler runs because of them: deliveries, a same-day fallback, an opt-out, and silence after it."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest

from outreach import pipeline
from outreach.ledger import Ledger
from outreach.settings import Settings
from tests.days import Book
from tests.servers import Sandbox
from tests.stack import BIN, LIVE_STACK, api_url, running_airflow, stack_environment, wait_until

pytestmark = [pytest.mark.airflow, LIVE_STACK]
NEW_YORK = ZoneInfo("America/New_York")
UNREACHABLE = "+12125550197"  # the sandbox reports texts to numbers ending 97 undelivered
OPTING_OUT = "+12125550143"


@pytest.fixture
def stack(databases, tmp_path, sandbox):
    """API server (with the plugin), scheduler and DAG processor on PostgreSQL, sending through the sandbox."""
    airflow_db, ledger_db = databases
    # The test runs on today's date, whatever it is: a federal holiday must not stop its texts.
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  soft.avoid_days: {enabled: false}\n")
    env = stack_environment(tmp_path, airflow_db, ledger_db, "LocalExecutor")
    env.update(
        {
            "OUTREACH_CHANNELS": "sandbox",
            "OUTREACH_SANDBOX_URL": sandbox.url,
            "OUTREACH_CALLBACK_BASE_URL": api_url(env),
            "OUTREACH_ACCOUNTS_FILE": str(tmp_path / "accounts.csv"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "OUTREACH_POLICY_SETTINGS": str(policy),
        }
    )
    sandbox.configure(inbound_sms_url=f"{api_url(env)}/outreach/twilio/inbound")
    logs = tmp_path / "logs"
    with running_airflow(env, logs, "outreach_events", migrated=True) as api:
        yield env, api, logs


def _airflow(env, *args: str) -> str:
    return subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=120).stdout


def events_runs(env) -> list[str]:
    out = _airflow(env, "dags", "list-runs", "outreach_events", "-o", "plain")
    return [line for line in out.splitlines() if "outreach_events" in line]


def test_callbacks_reach_the_plugin_and_the_events_dag_reacts(stack, sandbox: Sandbox, tmp_path, monkeypatch):
    env, api, logs = stack
    # This process dispatches the day as the campaign DAG would, with the stack's settings.
    for name in ("OUTREACH_CHANNELS", "OUTREACH_SANDBOX_URL", "OUTREACH_CALLBACK_BASE_URL", "OUTREACH_POLICY_SETTINGS"):
        monkeypatch.setenv(name, env[name])
    settings = Settings.from_env(env)
    ledger = Ledger.from_url(settings.ledger_url)
    today = datetime.now(NEW_YORK).date()
    book = Book(tmp_path / "accounts.csv")
    book.add("AC00001", today - timedelta(days=5), mobile_phone=UNREACHABLE)
    book.add("AC00002", today - timedelta(days=5), mobile_phone=OPTING_OUT)
    book.write()
    # The day's texts go at a fixed instant inside the contact window, whatever the hour of the test.
    send_at = datetime.combine(today, clock(12, 0), NEW_YORK).astimezone(UTC)
    ref = pipeline.segment(pipeline.pull(today, f"scheduled__{today}", settings), settings)
    planned = pipeline.plan(ref, "m1_self_service", settings)

    pipeline.dispatch_due(planned, settings, now=send_at)

    # The receipts come back signed, through the API server, to the plugin.
    def receipts():
        texts = ledger.attempts_for(today).query("channel == 'sms'")
        status = dict(zip(texts["account_id"], texts["status"], strict=True))
        return status.get("AC00001") == "undelivered" and status.get("AC00002") == "delivered"

    wait_until(receipts, "the sandbox's delivery callbacks to be recorded")

    # The failure woke the events DAG through its asset; it fell back to email the same day.
    def fallback():
        return ledger.steps(today).query("account_id == 'AC00001' and channel == 'email'").to_dict("records")

    (email,) = wait_until(fallback, "the events DAG to plan the fallback", 180)
    assert email["stage"] == "reminder-sms"
    reasons = " ".join(ledger.account_timeline("AC00001")["decisions"]["reason"])
    assert "reminder-sms (sms) undelivered: falling back to email the same day" in reasons
    assert events_runs(env), "the scheduler ran outreach_events because of the asset"

    # STOP from the second debtor's phone: the plugin suppresses the number before it answers.
    sandbox.inbound(OPTING_OUT, "+15005550006", "STOP")
    wait_until(
        lambda: OPTING_OUT in set(ledger.active_suppressions(datetime.now(UTC))["address"]),
        "the opt-out to be recorded",
    )
    # A later text to that number (as tomorrow's plan would make) is held, whatever the hour.
    reminder = ledger.steps(today).set_index("step_key").loc[f"AC00002|m1_self_service|reminder-sms|sms|{today}"]
    later = {**reminder.to_dict(), "step_key": f"AC00002|m1_self_service|payment-link|sms|{today}", "run_id": "later"}
    ledger.add_steps([{**later, "stage": "payment-link", "status": "pending", "window_start": None}], [])
    pipeline.dispatch_due({**planned, "run_id": "later", "only_this_run": True}, settings)
    wait_until(lambda: not ledger.unreacted_events(), "every event to be reacted to", 180)
    texts = [r for r in sandbox.requests("twilio", to=OPTING_OUT) if r["status"] in (201, 202)]
    after_stop = [
        key for key in ledger.account_timeline("AC00002")["attempts"]["step_key"] if "reminder-sms" not in key
    ]
    assert len(texts) - 1 <= 1 and all("opt-out-confirmation" in key for key in after_stop), after_stop
    held = ledger.steps(today).set_index("step_key").loc[later["step_key"]]
    assert held["status"] == "held", held["status_reason"]
    ledger.dispose()
