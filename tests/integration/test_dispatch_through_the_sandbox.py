"""A day dispatched through the real SDKs to the sandbox: errors, callbacks, and a worker killed mid-batch."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, unquote

import pandas as pd
import pytest

from outreach import pipeline
from outreach.events import record_sendgrid_events, record_twilio_status
from outreach.sample import write_sample
from tests.days import FAST_PROVIDERS, dispatch_in_a_process, plan_all
from tests.servers import receiver_app, serve

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


@pytest.fixture
def day_planned(ledger, settings_for, tmp_path, sandbox, monkeypatch):
    book = tmp_path / "accounts.csv"
    write_sample(book, DAY, accounts=400)
    settings = settings_for(ledger, book)
    settings = settings.__class__(**{**settings.__dict__, "channel_set": "sandbox", "reconcile_after": 0.0})
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", sandbox.url)
    for key, value in FAST_PROVIDERS.items():
        monkeypatch.setenv(key, value)
    ref = plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    return settings, ref


def sent_to(sandbox, provider: str) -> Counter[str]:
    if provider == "twilio":
        return Counter(r["payload"]["To"] for r in sandbox.accepted("twilio"))
    return Counter(p["to"][0]["email"] for r in sandbox.accepted("sendgrid") for p in r["payload"]["personalizations"])


def test_a_day_goes_out_through_the_providers_once_each(day_planned, ledger, sandbox):
    settings, ref = day_planned
    result = pipeline.dispatch_due(ref, settings, now=NOON)
    attempts = ledger.attempts_for(DAY)
    steps = ledger.steps(DAY).set_index("step_key")
    sent = attempts[attempts["status"] == "sent"]
    assert result["dispatch"]["sent"] == len(sent) > 0

    phone_steps = sent[sent["channel"].isin(["sms", "voice"])]
    twilio = sent_to(sandbox, "twilio")
    assert sum(twilio.values()) == len(phone_steps)
    email_steps = sent[sent["channel"] == "email"]
    assert sum(sent_to(sandbox, "sendgrid").values()) == len(email_steps)
    sms = attempts[attempts["channel"] == "sms"]
    assert (sms.loc[sms["status"] == "sent", "segments"] >= 1).all()

    # Numbers ending 99 are unsubscribed at the provider (21610): failed for good, and suppressed.
    unsubscribed = sms[sms["error_code"] == "21610"]
    for step_key in unsubscribed["step_key"]:
        assert steps.loc[step_key, "status"] == "failed"
    blocks = ledger.active_suppressions(NOON)
    blocked = set(blocks.loc[blocks["reason"] == "provider_block", "address"])
    assert set(steps.loc[list(unsubscribed["step_key"]), "contact_address"]) <= blocked

    again = pipeline.dispatch_due({**ref, "run_id": "rerun"}, settings, now=NOON)
    assert again["dispatch"]["sent"] == 0
    assert sum(sent_to(sandbox, "twilio").values()) == sum(twilio.values())


def test_provider_callbacks_settle_each_attempt(day_planned, ledger, sandbox):
    settings, ref = day_planned
    app, received = receiver_app()
    with serve(app) as receiver:
        os.environ["OUTREACH_CALLBACK_BASE_URL"] = receiver
        sandbox.configure(sendgrid_event_url=receiver + "/outreach/sendgrid/events")
        try:
            pipeline.dispatch_due(ref, settings, now=NOON)
            sandbox.flush()
        finally:
            del os.environ["OUTREACH_CALLBACK_BASE_URL"]
    import json

    for request in received:
        if request["path"].startswith("/outreach/twilio"):
            step_key = ledger.step_key_for(unquote(request["url"].split("step=", 1)[1]))
            record_twilio_status(ledger, step_key, dict(parse_qsl(request["body"])), NOON)
            record_twilio_status(ledger, step_key, dict(parse_qsl(request["body"])), NOON)  # duplicates change nothing
        else:
            record_sendgrid_events(ledger, json.loads(request["body"]))
    attempts = ledger.attempts_for(DAY)
    statuses = Counter(attempts.loc[attempts["channel"] == "sms", "status"])
    assert statuses["delivered"] > 0 and statuses["sent"] == 0
    calls = Counter(attempts.loc[attempts["channel"] == "voice", "status"])
    assert calls["connected"] > 0
    email = Counter(attempts.loc[attempts["channel"] == "email", "status"])
    assert email["delivered"] > 0 and email["sent"] == 0

    # What went to the providers and came back names messages by their refs, never by account.
    account_ids = set(attempts["account_id"])
    outgoing = [json.dumps(r["payload"]) for r in sandbox.requests("twilio") + sandbox.requests("sendgrid")]
    callbacks = [r["url"] + r["body"] for r in received]
    assert outgoing and callbacks
    assert not [text for text in outgoing + callbacks if any(account in text for account in account_ids)]


def test_a_worker_killed_mid_batch_and_run_again_sends_each_text_exactly_once(day_planned, ledger, sandbox, tmp_path):
    settings, ref = day_planned
    sandbox.configure(latency_ms=40)
    worker = dispatch_in_a_process(
        settings,
        sandbox.url,
        "doomed",
        DAY,
        NOON,
        OUTREACH_SEND_CONCURRENCY="1",
        OUTREACH_CLAIM_LEASE_SECONDS="1",
    )
    deadline = time.monotonic() + 60
    while len(sandbox.accepted("twilio")) < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    time.sleep(1.5)  # the dead worker's leases run out; a live one would have renewed them
    sandbox.configure(latency_ms=0)
    before = sum(sent_to(sandbox, "twilio").values())
    assert before >= 15

    pipeline.dispatch_due({**ref, "run_id": "retry"}, settings, now=NOON)
    texts = sent_to(sandbox, "twilio")
    attempts = ledger.attempts_for(DAY)
    sms_sent = attempts[(attempts["channel"] == "sms") & (attempts["status"] == "sent")]
    steps = ledger.steps(DAY).set_index("step_key")
    for step_key in sms_sent["step_key"]:
        assert texts[steps.loc[step_key, "contact_address"]] >= 1
    per_step = Counter(steps.loc[list(attempts["step_key"]), "contact_address"])
    assert all(texts[number] <= per_step[number] for number in texts), "no step was sent twice"
    words = Counter((r["payload"]["To"], r["payload"].get("Body")) for r in sandbox.accepted("twilio"))
    assert max(words.values()) == 1, "no message went twice"
    assert not (attempts["status"] == "claimed").any(), "every interrupted send was settled"


def test_no_full_phone_number_or_email_reaches_the_logs(day_planned, caplog):
    import logging
    import re

    settings, ref = day_planned
    caplog.set_level(logging.INFO)
    pipeline.dispatch_due(ref, settings, now=NOON)
    pipeline.report(ref, settings)
    assert caplog.records, "the run logs what it did"
    assert not re.search(r"\+(1\d{10}|86\d{11})\b", caplog.text)
    assert not re.search(r"[\w.]+@example\.(com|cn)", caplog.text)


def test_calls_the_rules_require_recorded_are_recorded_and_kept_two_years(day_planned, ledger, sandbox):
    from outreach.events import record_twilio_recording
    from outreach.report import build_report, format_report

    settings, ref = day_planned
    morning_in_china = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # 09:00 in Beijing, 20:00 in New York
    app, received = receiver_app()
    with serve(app) as receiver:
        os.environ["OUTREACH_CALLBACK_BASE_URL"] = receiver
        try:
            pipeline.dispatch_due(ref, settings, now=morning_in_china)
            sandbox.flush()
        finally:
            del os.environ["OUTREACH_CALLBACK_BASE_URL"]
    calls = [r["payload"] for r in sandbox.accepted("twilio") if "Url" in r["payload"]]
    recorded = {call["To"] for call in calls if call.get("Record") == "true"}
    assert recorded and recorded == {call["To"] for call in calls if call["To"].startswith("+86")}

    for request in received:
        params = dict(parse_qsl(request["body"]))
        step_key = ledger.step_key_for(unquote(request["url"].split("step=", 1)[1]))
        if request["path"] == "/outreach/twilio/recording-status":
            assert record_twilio_recording(ledger, step_key, params, morning_in_china)
        else:
            record_twilio_status(ledger, step_key, params, morning_in_china)
    attempts = ledger.attempts_for(DAY)
    in_china = attempts[(attempts["channel"] == "voice") & attempts["recording_days"].notna()]
    answered = in_china[in_china["status"].isin(["connected", "voicemail"])]
    assert len(answered) > 0 and answered["recording_ref"].str.startswith("RE").all()
    kept = pd.to_datetime(answered["recording_kept_until"], utc=True)
    assert (kept == morning_in_china + pd.Timedelta(days=730)).all()
    assert attempts.loc[attempts["recording_days"].isna(), "recording_ref"].isna().all(), "US calls are not recorded"
    assert build_report(ledger, ref["run_id"])["calls_without_recording"] == []

    # A recording that never arrived is named in the report, for a person to chase.
    lost = answered["step_key"].iloc[0]
    with ledger.engine.begin() as conn:
        from outreach.ledger.schema import attempts as attempts_table

        conn.execute(attempts_table.update().where(attempts_table.c.step_key == lost).values(recording_ref=None))
    report = build_report(ledger, ref["run_id"])
    missing = report["calls_without_recording"]
    assert [row["step_key"] for row in missing] == [lost] and missing[0]["keep_days"] == 730
    assert "CALLS THAT MUST BE RECORDED AND HAVE NO RECORDING (last 30 days): 1" in format_report(report)
