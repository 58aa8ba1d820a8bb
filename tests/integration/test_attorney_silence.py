"""A represented debtor over five weeks: the attorney is texted, the debtor is left alone, and contact
with the debtor resumes only where the attorney has not answered within the reasonable time (US-19).
The daily plan and the dispatcher read the attorney's side of it however far back it lies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from outreach.cli import main
from outreach.explain import explain
from outreach.sandbox.signing import twilio_signature
from outreach.web import webhooks
from tests.days import Book, campaign_through_sandbox, next_monday, run_day

CAMPAIGN = """
id: m2_represented
name: Represented
buckets: [M2+]
schedule: "0 10 * * 1-6"
timezone: America/New_York
ladder:
  - {id: tell-attorney, channel: sms, recipient: attorney, template: attorney_notice, wait_days: 1}
  - {id: past-due-notice, channel: email, template: past_due, wait_days: 7}
"""
MONDAY = next_monday()
FIVE_WEEKS_ON = MONDAY + timedelta(days=35)
TEN_WEEKS_ON = MONDAY + timedelta(days=70)
SILENT_ATTORNEY = "+12125550181"
ANSWERING_ATTORNEY = "+12125550182"
WRITING_ATTORNEY = "+12125550183"


@pytest.fixture
def walk(ledger, settings_for, tmp_path, sandbox, monkeypatch):
    book = Book(tmp_path / "accounts.csv")
    first_due = MONDAY - timedelta(days=40)
    for account_id, attorney, debtor in (
        ("AC1", SILENT_ATTORNEY, "jane.doe@example.com"),
        ("AC2", ANSWERING_ATTORNEY, "john.roe@example.com"),
        ("AC3", WRITING_ATTORNEY, "ann.poe@example.com"),
    ):
        book.add(
            account_id,
            first_due,
            email=debtor,
            flags="attorney",
            attorney_name="Morgan Lee",
            attorney_phone=attorney,
            attorney_consent="yes",
        )
    settings = campaign_through_sandbox(settings_for(ledger, book.path), CAMPAIGN, sandbox.url, monkeypatch)
    monkeypatch.setenv("OUTREACH_LEDGER_URL", settings.ledger_url)
    monkeypatch.delenv("OUTREACH_CALLBACK_BASE_URL", raising=False)

    def run(day: date) -> None:
        book.write()
        run_day(settings, day, campaigns=("m2_represented",))

    return run


def text_in(monkeypatch, sender: str, body: str) -> None:
    """A text reaching the provider's inbound webhook, signed as Twilio signs it."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    app = FastAPI()
    app.include_router(webhooks.router)
    url = "http://testserver/twilio/inbound"
    form = {"MessageSid": f"SM-{sender}", "From": sender, "To": "+15005550006", "Body": body}
    response = TestClient(app).post(
        url, data=form, headers={"X-Twilio-Signature": twilio_signature("secret", url, form)}
    )
    assert response.status_code == 200


def test_contact_resumes_only_with_the_debtor_whose_attorney_went_silent(walk, ledger, sandbox, monkeypatch):
    walk(MONDAY)
    texted = {r["payload"]["To"] for r in sandbox.accepted("twilio")}
    assert texted == {SILENT_ATTORNEY, ANSWERING_ATTORNEY, WRITING_ATTORNEY}
    with monkeypatch.context() as webhook:
        text_in(webhook, ANSWERING_ATTORNEY, "We represent Mr Roe. Please write to this office only.")
    # The third attorney answers by letter: a person records it.
    assert main(["attorney-answer", "ac3", "--how", "letter", "--by", "ops.jlee", "--note", "letter of 9 Dec"]) == 0
    assert "the attorney answered by letter (recorded by ops.jlee): letter of 9 Dec" in explain(ledger, "AC3")

    walk(MONDAY + timedelta(days=1))
    held = ledger.steps(MONDAY + timedelta(days=1)).set_index("account_id")
    assert set(held["decision"]) == {"block"} and all("attorney" in r for r in held["reason"])

    walk(FIVE_WEEKS_ON)
    steps = ledger.steps(FIVE_WEEKS_ON).set_index("account_id")
    # No answer: a step is planned for when the debtor's window opens, saying why the hold gave way.
    silent = steps.loc["AC1"]
    assert silent["decision"] != "block" and silent["status"] == "sent", silent["reason"]
    assert "attorney has not answered within 30 days" in silent["reason"]
    assert "regf.attorney" in silent["rule_ids"]
    assert len(sandbox.emails_to("jane.doe@example.com")) == 1
    # A reply from where the attorney was texted, or an answer a person recorded, keeps the hold.
    assert_held(ledger, sandbox, FIVE_WEEKS_ON)

    # Ten weeks on, the answers are older than the replies the rest of the history keeps: they still count.
    walk(TEN_WEEKS_ON)
    assert_held(ledger, sandbox, TEN_WEEKS_ON)


def assert_held(ledger, sandbox, day: date) -> None:
    steps = ledger.steps(day).set_index("account_id")
    for answered_id, debtor in (("AC2", "john.roe@example.com"), ("AC3", "ann.poe@example.com")):
        answered = steps.loc[answered_id]
        assert answered["decision"] == "block" and "attorney" in answered["reason"], (day, answered_id)
        assert not sandbox.emails_to(debtor)


def test_the_history_holds_each_text_to_an_attorney_once_however_long_ago(walk, ledger):
    walk(MONDAY)
    five_weeks_on = datetime.combine(FIVE_WEEKS_ON, datetime.min.time(), UTC)
    for since in (datetime.now(UTC) - timedelta(hours=1), five_weeks_on - timedelta(days=8)):
        history = ledger.contact_events(since)
        sent = history[history["kind"] == "attempt"]
        assert sorted(sent["account_id"]) == ["AC1", "AC2", "AC3"] and set(sent["recipient"]) == {"attorney"}


def test_an_answer_is_refused_for_an_unknown_account_or_a_time_without_its_zone(walk, capsys):
    walk(MONDAY)
    assert main(["attorney-answer", "AC9", "--how", "voice", "--by", "ops.jlee"]) == 2
    assert "no account AC9 in the ledger" in capsys.readouterr().err
    assert main(["attorney-answer", "AC1", "--how", "voice", "--by", "ops.jlee", "--at", "2026-12-09T10:00"]) != 0
    assert "names no time zone" in capsys.readouterr().err
