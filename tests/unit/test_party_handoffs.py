"""Letters and agents' calls to the other parties on an account: each letter line and agent-queue row says
whom it is for, reaches that party only, and is asked of the contact policy as a message to them is."""

from __future__ import annotations

import csv
import dataclasses
from datetime import date, timedelta

import pytest

from outreach import ops_view
from outreach.explain import explain
from outreach.handoffs import LETTER_FIELDS
from tests.days import Book, run_day

# Days to come, as the ledger records a send at the moment it goes.
MONDAY = date.today() + timedelta(days=7 - date.today().weekday())
DAYS = [MONDAY + timedelta(days=n) for n in range(3)]
GUARANTOR = {
    "guarantor_name": "Alex Roe",
    "guarantor_phone": "+12125550188",
    "guarantor_email": "alex.roe@example.com",
    "guarantor_consent": "yes",
}
TO_THE_GUARANTOR = """
id: m2_guarantor
name: Guarantor
buckets: [M2+]
schedule: "0 10 * * 1-6"
timezone: America/New_York
ladder:
  - {id: guarantor-letter, channel: letter, recipient: guarantor, template: party_notice, wait_days: 1}
  - {id: call-guarantor, channel: agent_queue, recipient: guarantor, template: agent_callback, wait_days: 1}
"""
TO_THE_ATTORNEY = """
id: m2_attorney
name: Attorney
buckets: [M2+]
schedule: "0 10 * * 1-6"
timezone: America/New_York
ladder:
  - {id: attorney-letter, channel: letter, recipient: attorney, template: attorney_notice, wait_days: 1}
  - {id: final-letter, channel: letter, template: collection_notice, wait_days: 1}
"""


@pytest.fixture
def walk(sqlite_ledger, settings_for, tmp_path):
    """Run business days of one campaign over a book, with the hand-offs written where people find them."""
    book = Book(tmp_path / "accounts.csv")
    settings = settings_for(sqlite_ledger, book.path)

    def start(campaign: str):
        campaigns = tmp_path / "campaigns"
        campaigns.mkdir()
        campaign_id = campaign.split("id: ", 1)[1].split("\n", 1)[0]
        (campaigns / f"{campaign_id}.yaml").write_text(campaign, encoding="utf-8")
        configured = dataclasses.replace(settings, campaigns_dir=campaigns)

        def run(day: date) -> list[dict[str, str]]:
            """The day's letter lines."""
            book.write()
            run_day(configured, day, campaigns=(campaign_id,))
            letters = configured.handoffs_dir / "letters" / f"{day.isoformat()}-{campaign_id}.csv"
            if not letters.exists():
                return []
            with letters.open(encoding="utf-8") as handle:
                return list(csv.DictReader(handle))

        return run

    first_due = DAYS[0] - timedelta(days=40)
    return book, first_due, start


def test_a_letter_for_the_guarantor_is_addressed_to_them_and_carries_no_address_of_the_debtors(walk):
    book, first_due, start = walk
    book.add("AC1", first_due, **GUARANTOR)
    run = start(TO_THE_GUARANTOR)
    (line,) = run(DAYS[0])
    assert list(line) == list(LETTER_FIELDS)
    assert (line["account_id"], line["recipient"], line["name"]) == ("AC1", "guarantor", "Alex Roe")
    # The print house merges the guarantor's address by account and recipient: the debtor's would be wrong.
    assert line["region"] == "" and line["postal_code"] == ""
    assert line["letter"].count("Dear Alex Roe") == 1
    assert "of Jane Doe, on which you are the guarantor" in line["letter"]


def test_an_agents_call_to_the_guarantor_is_queued_for_the_guarantors_number(walk, sqlite_ledger):
    book, first_due, start = walk
    book.add("AC1", first_due, **GUARANTOR)
    run = start(TO_THE_GUARANTOR)
    run(DAYS[0])
    run(DAYS[1])
    (call,) = sqlite_ledger.handoffs(kind=["agent_queue"]).to_dict("records")
    assert (call["recipient"], call["status"]) == ("guarantor", "open")
    assert call["reason"].startswith("Call back Alex about the account ending")
    step = sqlite_ledger.steps(DAYS[1]).set_index("step_key").loc[call["step_key"]]
    assert step["contact_address"] == "+12125550188"

    queued = ops_view.attention(sqlite_ledger, DAYS[1], DAYS[1], None)["agent_queue"]
    assert [(row["recipient"], row["number"]) for row in queued] == [("guarantor", "+1******0188")]
    assert "+12125550188" not in str(queued) and "+12125550142" not in str(queued)
    (letter,) = [h for h in ops_view.account(sqlite_ledger, "AC1")["handoffs"] if h["kind"] == "letter"]
    assert letter["recipient"] == "guarantor"


def test_an_account_that_names_no_guarantor_moves_past_their_letter_and_call_with_reasons(walk, sqlite_ledger):
    book, first_due, start = walk
    book.add("AC2", first_due)
    run = start(TO_THE_GUARANTOR)
    assert run(DAYS[0]) == []
    assert sqlite_ledger.handoffs(kind=["agent_queue"]).empty
    story = explain(sqlite_ledger, "AC2")
    assert "no name to address a letter to on file for the guarantor" in story
    assert "no phone number for an agent to call on file for the guarantor" in story


def test_a_represented_debtors_letter_is_held_while_their_attorney_is_written_to(walk, sqlite_ledger):
    book, first_due, start = walk
    book.add(
        "AC1",
        first_due,
        flags="attorney",
        attorney_name="Morgan Lee",
        attorney_email="counsel@example-law.com",
        attorney_consent="yes",
    )
    book.add("AC2", first_due, name="John Roe")
    run = start(TO_THE_ATTORNEY)
    to_attorney, to_debtor = sorted(run(DAYS[0]), key=lambda line: line["account_id"])
    assert (to_attorney["recipient"], to_attorney["name"]) == ("attorney", "Morgan Lee")
    assert "we will write to you rather than to your client" in to_attorney["letter"]
    # An account with no attorney moves on to its own letter, which says it is the debtor's, at their address.
    assert (to_debtor["account_id"], to_debtor["recipient"], to_debtor["name"]) == ("AC2", "debtor", "John Roe")
    assert (to_debtor["region"], to_debtor["postal_code"]) == ("NY", "10001")

    assert run(DAYS[1]) == []
    held = sqlite_ledger.steps(DAYS[1]).set_index("stage").loc["final-letter"]
    assert held["status"] == "held" and "regf.attorney" in held["rule_ids"]
