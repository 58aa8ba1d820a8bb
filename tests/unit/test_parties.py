"""Ladder stages addressed to someone other than the debtor: a co-borrower, a guarantor, the debtor's
attorney, the estate, or a third party asked where the debtor is."""

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from outreach.campaigns import CampaignError, parse_campaign
from outreach.messages import Renderer
from outreach.number_checks import numbers_to_check
from outreach.parties import as_seen_by
from outreach.pipeline import business_day
from outreach.planner import plan_day
from tests.factories import snapshot_account

DAY = date(2026, 11, 20)  # a Friday
PLANNED_AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
# A plan decides for the whole business day: a step that may go later today is deferred to its window.
GOES_TODAY = ("send", "defer")
NO_SUPPRESSIONS = pd.DataFrame(columns=["account_id", "channel", "address", "reason", "source", "effective_at"])
NO_EVENTS = pd.DataFrame(columns=["account_id", "at", "channel", "kind", "outcome", "address"])
GUARANTOR = {"guarantor_name": "Alex Roe", "guarantor_email": "alex.roe@example.com", "guarantor_consent": True}
ATTORNEY = {"attorney_name": "Morgan Lee", "attorney_email": "counsel@example-law.com", "attorney_consent": True}
THIRD_PARTY = {"third_party_name": "Sam Poe", "third_party_phone": "+12125550177", "third_party_consent": True}


def campaign(*stages: str, id: str = "m2_parties"):
    ladder = "\n".join(f"  - {stage}" for stage in stages)
    text = f"""
id: {id}
name: Parties
buckets: [M2+]
schedule: "0 10 * * 1-6"
timezone: America/New_York
ladder:
{ladder}
"""
    return parse_campaign(text, f"{id}.yaml")


GUARANTOR_FIRST = campaign(
    "{id: guarantor-notice, channel: email, recipient: guarantor, template: party_notice, wait_days: 2}",
    "{id: past-due-notice, channel: email, template: past_due, wait_days: 2}",
)


def account(**overrides):
    return snapshot_account(DAY, 45, account_id="AC7", **overrides)


def plan(the_campaign, accounts, events=NO_EVENTS):
    return plan_day(
        pd.DataFrame(accounts),
        the_campaign,
        {},
        {},
        events,
        NO_SUPPRESSIONS,
        business_day(DAY, "America/New_York"),
        "run-1",
        PLANNED_AT,
    )


def reasons(result) -> list[str]:
    return [row["reason"] for row in result.audit]


def test_a_stage_for_the_guarantor_goes_to_the_guarantors_address_never_the_debtors():
    result = plan(GUARANTOR_FIRST, [account(**GUARANTOR)])
    (step,) = result.steps
    assert (step["stage"], step["recipient"], step["contact_address"]) == (
        "guarantor-notice",
        "guarantor",
        "alex.roe@example.com",
    )
    assert step["decision"] in GOES_TODAY, step["reason"]
    # Where the guarantor lives is not on file and an email does not tell: the window is the one that
    # holds anywhere in the debtor's country (08:00 in Honolulu), not the debtor's own (New York).
    assert step["window_start"] == datetime(2026, 11, 20, 18, tzinfo=UTC)


def test_an_account_that_names_no_guarantor_moves_past_the_stage_the_same_day_and_says_why():
    result = plan(GUARANTOR_FIRST, [account()])
    (step,) = result.steps
    assert (step["stage"], step["recipient"], step["contact_address"]) == (
        "past-due-notice",
        None,
        "jane.doe@example.com",
    )
    assert any("no email contact point on file for the guarantor" in reason for reason in reasons(result))


def test_the_debtors_consent_is_not_the_guarantors():
    texting = campaign("{id: guarantor-text, channel: sms, recipient: guarantor, template: party_notice}")
    number = {"guarantor_phone": "+12125550188"}
    (without,) = plan(texting, [account(**number, guarantor_consent=None)]).steps
    assert without["decision"] == "block" and "tcpa.consent" in without["rule_ids"].split(",")
    (with_consent,) = plan(texting, [account(**number, guarantor_consent=True)]).steps
    assert with_consent["decision"] in GOES_TODAY and with_consent["contact_address"] == "+12125550188"


def test_a_represented_debtor_is_not_contacted_but_their_attorney_is():
    to_debtor = campaign("{id: past-due-notice, channel: email, template: past_due}")
    (held,) = plan(to_debtor, [account(flags="attorney", **ATTORNEY)]).steps
    assert held["decision"] == "block" and "regf.attorney" in held["rule_ids"]

    to_attorney = campaign("{id: attorney-notice, channel: email, recipient: attorney, template: attorney_notice}")
    (step,) = plan(to_attorney, [account(flags="attorney", **ATTORNEY)]).steps
    assert step["decision"] in GOES_TODAY and step["contact_address"] == "counsel@example-law.com", step["reason"]


def test_a_third_party_is_asked_where_the_debtor_is_once_and_never_about_the_debt():
    asking = campaign("{id: find-debtor, channel: sms, recipient: third_party, template: location_request}")
    (first,) = plan(asking, [account(**THIRD_PARTY)]).steps
    assert first["decision"] in GOES_TODAY and first["contact_address"] == "+12125550177", first["reason"]

    asked_before = pd.DataFrame(
        [
            {
                "account_id": "AC7",
                "at": datetime(2026, 11, 18, 15, tzinfo=UTC),
                "channel": "sms",
                "kind": "attempt",
                "outcome": "delivered",
                "address": "+12125550177",
                "recipient": "third_party",
                "purpose": "location",
            }
        ]
    )
    (again,) = plan(asking, [account(**THIRD_PARTY)], events=asked_before).steps
    assert again["decision"] == "block" and "already asked" in again["reason"]

    telling = campaign("{id: tell-a-neighbour, channel: sms, recipient: third_party, template: party_notice}")
    (told,) = plan(telling, [account(**THIRD_PARTY)]).steps
    assert told["decision"] == "block" and "regf.third_party" in told["rule_ids"]


CN_ACCOUNT = {
    "country": "CN",
    "region": None,
    "postal_code": None,
    "locale": "zh-CN",
    "currency": "CNY",
    "mobile_phone": "+8613800138000",
}


def test_in_china_only_the_debtor_and_the_guarantor_may_be_collected_from():
    to_guarantor = campaign("{id: guarantor-notice, channel: email, recipient: guarantor, template: party_notice}")
    (allowed,) = plan(to_guarantor, [account(**CN_ACCOUNT, **GUARANTOR)]).steps
    assert "cn.debtor_and_guarantor" not in allowed["rule_ids"]
    assert allowed["decision"] in GOES_TODAY, allowed["reason"]

    co_borrower = {"co_borrower_email": "li.lei@example.cn", "co_borrower_consent": True}
    to_co_borrower = campaign(
        "{id: co-borrower-notice, channel: email, recipient: co_borrower, template: party_notice}"
    )
    (refused,) = plan(to_co_borrower, [account(**CN_ACCOUNT, **co_borrower)]).steps
    assert refused["decision"] == "block" and "cn.debtor_and_guarantor" in refused["rule_ids"]


def test_a_message_to_the_guarantor_names_the_debtor_and_the_guarantors_part():
    seen = as_seen_by(account(**GUARANTOR), "guarantor")
    message = Renderer().render("email", "party_notice", dict(seen))
    assert message.body.startswith("Hello Alex,")
    assert "of Jane Doe, on which you are the guarantor" in message.body


@pytest.mark.parametrize(
    "stage, field, why",
    [
        ("{id: x, channel: agency, agency: acme, recipient: guarantor}", "ladder.0.recipient", "placement (agency)"),
        ("{id: x, channel: legal, recipient: attorney}", "ladder.0.recipient", "placement (legal)"),
        ("{id: x, channel: email, recipient: landlord, template: party_notice}", "ladder.0.recipient", "Input"),
    ],
)
def test_a_stage_for_another_party_is_refused_unless_it_reaches_a_person(stage, field, why):
    with pytest.raises(CampaignError) as refused:
        campaign(stage)
    assert str(refused.value).startswith(f"m2_parties.yaml:8: {field}: ") and why in str(refused.value)


def test_a_placement_for_another_party_says_it_is_of_the_account_not_of_a_person():
    with pytest.raises(CampaignError, match="a placement .agency. is of the account, not of a person"):
        campaign("{id: x, channel: agency, agency: acme, recipient: guarantor}")


@pytest.mark.parametrize(
    "stage",
    [
        "{id: x, channel: letter, recipient: guarantor, template: party_notice}",
        "{id: x, channel: agent_queue, recipient: guarantor, template: agent_callback}",
        "{id: x, channel: email, recipient: guarantor, template: party_notice, fallback: letter}",
        "{id: x, channel: sms, recipient: guarantor, template: party_notice, fallback: agent_queue}",
    ],
)
def test_a_letter_or_an_agents_call_may_be_for_another_party(stage):
    assert campaign(stage).ladder[0].recipient == "guarantor"


GUARANTOR_LETTER = campaign(
    "{id: guarantor-letter, channel: letter, recipient: guarantor, template: party_notice, wait_days: 2}",
    "{id: past-due-notice, channel: email, template: past_due, wait_days: 2}",
)


def test_a_letter_for_the_guarantor_is_planned_for_them_with_no_address_of_the_debtors():
    (step,) = plan(GUARANTOR_LETTER, [account(**GUARANTOR)]).steps
    assert (step["stage"], step["channel"], step["recipient"]) == ("guarantor-letter", "letter", "guarantor")
    assert step["contact_address"] is None and step["decision"] in GOES_TODAY, step["reason"]


def test_an_account_that_names_no_guarantor_moves_past_their_letter_and_says_why():
    result = plan(GUARANTOR_LETTER, [account(guarantor_email="alex.roe@example.com")])
    (step,) = result.steps
    assert (step["stage"], step["recipient"]) == ("past-due-notice", None)
    assert any("no name to address a letter to on file for the guarantor" in reason for reason in reasons(result))


def test_an_agents_call_to_the_guarantor_is_to_the_guarantors_number_and_needs_one():
    calling = campaign(
        "{id: call-guarantor, channel: agent_queue, recipient: guarantor, template: agent_callback}",
        "{id: past-due-notice, channel: email, template: past_due}",
    )
    (step,) = plan(calling, [account(**GUARANTOR, guarantor_phone="+12125550188")]).steps
    assert (step["stage"], step["recipient"], step["contact_address"]) == (
        "call-guarantor",
        "guarantor",
        "+12125550188",
    )
    assert step["decision"] in GOES_TODAY, step["reason"]

    unreachable = plan(calling, [account(**GUARANTOR)])
    (step,) = unreachable.steps
    assert step["stage"] == "past-due-notice"
    assert any("no phone number for an agent to call on file for the guarantor" in r for r in reasons(unreachable))


def test_a_represented_debtor_gets_no_letter_but_their_attorney_does():
    to_debtor = campaign("{id: final-letter, channel: letter, template: collection_notice}")
    (held,) = plan(to_debtor, [account(flags="attorney", **ATTORNEY)]).steps
    assert held["decision"] == "block" and "regf.attorney" in held["rule_ids"]

    to_attorney = campaign("{id: attorney-letter, channel: letter, recipient: attorney, template: attorney_notice}")
    (step,) = plan(to_attorney, [account(flags="attorney", **ATTORNEY)]).steps
    assert step["decision"] in GOES_TODAY and step["recipient"] == "attorney", step["reason"]


def test_a_third_party_gets_no_letter_about_the_debt():
    telling = campaign("{id: tell-a-neighbour, channel: letter, recipient: third_party, template: party_notice}")
    (told,) = plan(telling, [account(**THIRD_PARTY)]).steps
    assert told["decision"] == "block" and "regf.third_party" in told["rule_ids"]


def test_a_letter_to_the_guarantor_in_china_carries_every_field_with_the_debtors_name():
    seen = as_seen_by(account(**CN_ACCOUNT, **GUARANTOR, name="王小明"), "guarantor")
    letter = Renderer().render("letter", "party_notice", dict(seen))
    assert letter.missing == (), letter.missing
    assert letter.body.count("王小明") >= 1 and "Alex Roe（担保人）" in letter.body


def test_the_reassigned_numbers_database_is_asked_about_a_partys_number_they_agreed_to_be_texted_at():
    agreed = account(**THIRD_PARTY)
    refused = {**account(third_party_phone="+12125550166", third_party_consent=None), "account_id": "AC8"}
    wanted = numbers_to_check(pd.DataFrame([agreed, refused]))
    assert set(zip(wanted["account_id"], wanted["number"], strict=True)) == {
        ("AC7", "+12125550142"),
        ("AC7", "+12125550177"),
        ("AC8", "+12125550142"),
    }
