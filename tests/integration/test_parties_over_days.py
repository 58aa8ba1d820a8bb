"""A ladder that asks a third party where the debtor is, tells the guarantor, then writes to the debtor:
pulled from the source, planned, sent through the sandbox and remembered by the ledger, day after day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from outreach.explain import explain
from tests.days import Book, campaign_through_sandbox, next_monday, run_day

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
MONDAY = next_monday()
DAYS = [MONDAY + timedelta(days=n) for n in range(4)]
NEIGHBOUR = "+12125550177"
GUARANTOR = "alex.roe@example.com"


@pytest.fixture
def walk(ledger, settings_for, tmp_path, sandbox, monkeypatch):
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
    settings = campaign_through_sandbox(settings_for(ledger, book.path), CAMPAIGN, sandbox.url, monkeypatch)

    def run(day: date) -> None:
        book.write()
        run_day(settings, day, campaigns=("m2_parties",))

    return run


def test_each_party_is_reached_at_their_own_address_and_a_third_party_is_asked_once(walk, ledger, sandbox):
    walk(DAYS[0])
    (question,) = sandbox.texts_to(NEIGHBOUR)
    assert "trying to reach Jane Doe" in question
    assert not any(word in question.lower() for word in ("debt", "past due", "payment", "balance"))
    # An account that names no one else goes straight to its own stage.
    assert len(sandbox.emails_to("john.roe@example.com")) == 1
    assert not sandbox.texts_to("+12125550142"), "the debtor's own number is not the neighbour's"

    walk(DAYS[1])
    steps = ledger.steps(DAYS[1]).set_index("stage")
    again = steps.loc["ask-again"]
    assert again["decision"] == "block" and "already asked on" in again["reason"]
    assert len(sandbox.texts_to(NEIGHBOUR)) == 1

    walk(DAYS[2])
    (notice,) = sandbox.emails_to(GUARANTOR)
    assert "Hello Alex" in notice and "of Jane Doe, on which you are the guarantor" in notice
    assert not sandbox.emails_to("jane.doe@example.com"), "the guarantor's notice went to the guarantor only"

    walk(DAYS[3])
    (to_debtor,) = sandbox.emails_to("jane.doe@example.com")
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
