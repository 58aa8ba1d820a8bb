"""The manual escalation form: good requests parse, bad ones name every bad field at once."""

from __future__ import annotations

import pytest

from outreach.campaigns import load_campaigns
from outreach.escalation_request import EscalationError, parse_request, target_choices
from outreach.saved_segments import SegmentError, load_segments
from outreach.settings import SHIPPED_CAMPAIGNS, SHIPPED_SEGMENTS

CAMPAIGNS = {c.id: c for c in load_campaigns(SHIPPED_CAMPAIGNS)}
SEGMENTS = load_segments(SHIPPED_SEGMENTS)
GOOD = {
    "target_stage": "m2_plus/agent-callback",
    "account_ids": "AC1, AC2\nAC3 AC1",
    "segment": "",
    "reason": "  asked for a   person to call back ",
    "dry_run": False,
}


def parse(by="ops.lead", **changes):
    return parse_request({**GOOD, **changes}, by, CAMPAIGNS, SEGMENTS)


def problems(**changes) -> list[str]:
    by = changes.pop("by", "ops.lead")
    with pytest.raises(EscalationError) as caught:
        parse(by, **changes)
    return str(caught.value).splitlines()


def test_a_good_request_keeps_ids_in_order_once_and_tidies_the_reason():
    request = parse()
    assert (request.campaign, request.stage) == ("m2_plus", "agent-callback")
    assert request.account_ids == ("AC1", "AC2", "AC3")
    assert request.reason == "asked for a person to call back"
    assert (request.requested_by, request.dry_run, request.segment) == ("ops.lead", False, None)
    assert request.selector == "accounts: AC1, AC2, AC3"


def test_ids_may_come_as_a_list_and_a_segment_may_stand_in_for_them():
    assert parse(account_ids=["AC9", "AC8"]).account_ids == ("AC9", "AC8")
    request = parse(account_ids="", segment="high-balance-60-plus")
    assert request.account_ids == () and request.selector == "segment: high-balance-60-plus"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"reason": "because"}, "reason: say why in at least 10 characters"),
        ({"reason": None}, "reason: say why"),
        ({"target_stage": "m3/agent-callback"}, "target_stage: 'm3/agent-callback' is not campaign/stage"),
        ({"target_stage": "m2_plus/phone-tree"}, "target_stage: m2_plus has no stage 'phone-tree'"),
        ({"account_ids": "AC1 AC 2$"}, "account_ids: not account ids: '2$'"),
        ({"account_ids": "", "segment": "whales"}, "segment: no saved segment 'whales'"),
        ({"segment": "high-balance-60-plus"}, "account_ids, segment: give account ids or a saved segment, not both"),
        ({"account_ids": " , "}, "account_ids, segment: name the accounts"),
        ({"dry_run": "no"}, "dry_run: 'no' is not true or false"),
        ({"by": None}, "requested_by: the run names no user"),
        ({"account_ids": " ".join(f"AC{n}" for n in range(5001))}, "account_ids: 5001 accounts; at most 5000"),
    ],
    ids=[
        "short-reason",
        "no-reason",
        "unknown-campaign",
        "unknown-stage",
        "malformed-id",
        "unknown-segment",
        "ids-and-segment",
        "no-accounts",
        "dry-run-not-bool",
        "no-user",
        "too-many",
    ],
)
def test_each_bad_field_is_named(changes, expected):
    assert any(line.startswith(expected) for line in problems(**changes)), problems(**changes)


def test_every_problem_is_reported_at_once():
    found = problems(reason="", target_stage="nowhere", account_ids="", by="")
    assert [line.split(":")[0] for line in found] == ["requested_by", "target_stage", "reason", "account_ids, segment"]


def test_the_form_offers_every_stage_of_every_campaign_with_its_place_on_the_ladder():
    choices = target_choices(CAMPAIGNS.values())
    assert choices["m2_plus/agency-placement"] == "M2+ escalation: 5. agency-placement (agency)"
    assert choices["m2_plus/guarantor-notice"] == "M2+ escalation: 3. guarantor-notice (email to the guarantor)"
    assert {key.split("/")[0] for key in choices} == {"m1_self_service", "m2_plus"}


def test_a_broken_segments_file_names_the_file_line_and_field(tmp_path):
    path = tmp_path / "segments.yaml"
    path.write_text(
        "segments:\n  big:\n    description: big ones\n    dpd_min: 90\n    dpd_max: 30\n  x:\n    bucket: [M2]\n"
    )
    with pytest.raises(SegmentError) as caught:
        load_segments(path)
    message = str(caught.value)
    assert f"{path}:3: segments.big: dpd_min 90 is above dpd_max 30" in message
    assert f"{path}:7: segments.x.bucket: Extra inputs are not permitted" in message
