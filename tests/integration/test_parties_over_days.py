"""A ladder that asks a third party where the debtor is, tells the guarantor, then writes to the debtor:
pulled from the source, planned, sent through the sandbox and remembered by the ledger, day after day."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from outreach.explain import explain
from tests.days import FAST_PROVIDERS, Book, run_day

CAMPAIGN = """
id: m2_parties
name: Parties
buckets: [M2+]
schedule: "0 10 * * 1-6"
timezone: America/New_York
ladder:
  - {id: find-debtor, channel: sms, recipient: third_party, template: location_request, wait_days: 1}
  - {id: ask-again, channel: sms, recipient: third_party, template: location_request, wait_days: 1}
  - {id: guarantor-notice, channel: email, recipient: guarantor, template: party_notice, wait_days: 1}
  - {id: past-due-notice, channel: email, template: past_due, wait_days: 1}
"""
# Days to come: a send is recorded at the moment it really goes, so a simulated day earlier than today
# would find yesterday's question to the neighbour in its future.
MONDAY = date.today() + timedelta(days=7 - date.today().weekday())
DAYS = [MONDAY + timedelta(days=n) for n in range(4)]
NEIGHBOUR = "+12125550177"
GUARANTOR = "alex.roe@example.com"


@pytest.fixture
def walk(ledger, settings_for, tmp_path, sandbox, monkeypatch):
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "m2_parties.yaml").write_text(CAMPAIGN, encoding="utf-8")
    book = Book(tmp_path / "accounts.csv")
    first_due = DAYS[0] - timedelta(days=40)
    book.add(
        "AC1",
        first_due,
        third_party_name="Sam Poe",
        third_party_phone=NEIGHBOUR,
        third_party_consent="yes",
        guarantor_name="Alex Roe",
        guarantor_email=GUARANTOR,
        guarantor_consent="yes",
    )
    book.add("AC2", first_due, email="john.roe@example.com", mobile_phone="+12125550143")
    settings = dataclasses.replace(settings_for(ledger, book.path), campaigns_dir=campaigns, channel_set="sandbox")
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", sandbox.url)
    for key, value in FAST_PROVIDERS.items():
        monkeypatch.setenv(key, value)

    def run(day: date) -> None:
        book.write()
        run_day(settings, day, campaigns=("m2_parties",))

    return run


def texts_to(sandbox, number: str) -> list[str]:
    return [r["payload"]["Body"] for r in sandbox.accepted("twilio") if r["payload"]["To"] == number]


def emails_to(sandbox, address: str) -> list[str]:
    return [
        personalization["substitutions"]["{{body}}"]
        for request in sandbox.accepted("sendgrid")
        for personalization in request["payload"]["personalizations"]
        if personalization["to"][0]["email"] == address
    ]


def test_each_party_is_reached_at_their_own_address_and_a_third_party_is_asked_once(walk, ledger, sandbox):
    walk(DAYS[0])
    (question,) = texts_to(sandbox, NEIGHBOUR)
    assert "trying to reach Jane Doe" in question
    assert not any(word in question.lower() for word in ("debt", "past due", "payment", "balance"))
    # An account that names no one else goes straight to its own stage.
    assert len(emails_to(sandbox, "john.roe@example.com")) == 1
    assert not texts_to(sandbox, "+12125550142"), "the debtor's own number is not the neighbour's"

    walk(DAYS[1])
    steps = ledger.steps(DAYS[1]).set_index("stage")
    again = steps.loc["ask-again"]
    assert again["decision"] == "block" and "already asked on" in again["reason"]
    assert len(texts_to(sandbox, NEIGHBOUR)) == 1

    walk(DAYS[2])
    (notice,) = emails_to(sandbox, GUARANTOR)
    assert "Hello Alex" in notice and "of Jane Doe, on which you are the guarantor" in notice
    assert not emails_to(sandbox, "jane.doe@example.com"), "the guarantor's notice went to the guarantor only"

    walk(DAYS[3])
    (to_debtor,) = emails_to(sandbox, "jane.doe@example.com")
    assert "Jane" in to_debtor
    contacts = ledger.contact_events(datetime.now(UTC) - timedelta(hours=1), ["AC1"])
    # The ledger keeps whom each send was with, so tomorrow's policy counts it against the right person.
    sends = contacts[contacts["kind"] == "attempt"]
    assert sorted(sends["recipient"].fillna("debtor")) == ["debtor", "guarantor", "third_party"]
    assert list(sends.loc[sends["recipient"] == "third_party", "purpose"]) == ["location"]


def test_the_accounts_story_says_whom_each_send_was_with_without_their_address(walk, ledger, sandbox):
    walk(DAYS[0])
    story = explain(ledger, "AC1")
    assert "attempt: sms find-debtor to the third party at " in story
    assert NEIGHBOUR not in story
