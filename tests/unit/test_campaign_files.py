"""Campaign files: errors that name the file, line and field; arms assigned for good."""

from __future__ import annotations

import shutil

import pytest

from outreach.campaigns import CampaignError, load_campaign, validate_directory
from outreach.settings import SHIPPED_CAMPAIGNS

M2 = SHIPPED_CAMPAIGNS / "m2_plus.yaml"


def broken(tmp_path, old: str, new: str):
    path = tmp_path / "m2_plus.yaml"
    path.write_text(M2.read_text().replace(old, new, 1))
    return path


def test_the_shipped_campaigns_validate():
    assert set(validate_directory(SHIPPED_CAMPAIGNS).values()) == {None}


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("wait_days: 4", "wait_days: soon", 18, "ladder.1.wait_days", "valid integer"),
        ("channel: voice", "channel: fax", 17, "ladder.0.channels.0", "'sms'"),
        ("buckets: [M2+]", "buckets: [M9]", 7, "buckets", "M9"),
        ("timezone: America/New_York", "timezone: Mars/Olympus", 9, "timezone", "not an IANA timezone"),
        ("agency: northwind_recoveries, ", "", 22, "ladder.4", "names the agency"),
        ("instalments: 3,", "instalments: 1,", 30, "self_service.plans.0.instalments", "greater than or equal to 2"),
        (
            "minimum_instalment: 50,",
            "minimum_instalment: 0,",
            30,
            "self_service.plans.0.minimum_instalment",
            "greater than 0",
        ),
        ("promise_horizon_days: 10", "promise_horizon_days: 90", 28, "self_service.promise_horizon_days", "60"),
        ("instalments: 6,", "instalments: 3,", 28, "self_service", "plans repeat"),
    ],
)
def test_an_error_names_the_file_line_and_field(tmp_path, old, new, line, field, message):
    with pytest.raises(CampaignError) as error:
        load_campaign(broken(tmp_path, old, new))
    text = str(error.value)
    assert text.startswith(f"{tmp_path / 'm2_plus.yaml'}:{line}: {field}: "), text
    assert message in text


def test_yaml_syntax_errors_give_the_line(tmp_path):
    with pytest.raises(CampaignError, match=r"m2_plus.yaml:\d+: not valid YAML"):
        load_campaign(broken(tmp_path, "ladder:", "ladder: [unclosed"))


def test_two_campaigns_may_not_serve_the_same_bucket(tmp_path):
    shutil.copy(SHIPPED_CAMPAIGNS / "m1_self_service.yaml", tmp_path)
    (tmp_path / "m2_plus.yaml").write_text(M2.read_text().replace("buckets: [M2+]", "buckets: [M1, M2]"))
    results = validate_directory(tmp_path)
    assert "bucket M1 is served by both m1_self_service and m2_plus" in results[str(tmp_path)]


def test_variant_weights_must_add_up_to_one_hundred(tmp_path):
    path = tmp_path / "m1_self_service.yaml"
    path.write_text((SHIPPED_CAMPAIGNS / "m1_self_service.yaml").read_text().replace("weight: 50}", "weight: 40}"))
    with pytest.raises(CampaignError, match="variant weights add up to 90, not 100"):
        load_campaign(path)


def test_arms_are_stable_and_split_as_configured():
    campaign = load_campaign(SHIPPED_CAMPAIGNS / "m1_self_service.yaml")
    ids = [f"AC{n:08d}" for n in range(20_000)]
    first = [campaign.variant_for(a) for a in ids]
    assert first == [campaign.variant_for(a) for a in ids], "the same account always gets the same arm"
    share = first.count("sms_first") / len(first)
    assert 0.48 < share < 0.52
    assert campaign.ladder_for("email_first")[0].id == "reminder-email"


@pytest.mark.parametrize(
    ("schedule", "wait_hours"),
    [("0 10 * * 1-6", 14), ("0 20 * * 1-6", 4), ("0 10 29 2 *", 14)],
    ids=["daily-at-ten", "evening", "once-in-four-years"],
)
def test_placements_wait_at_most_until_the_end_of_the_runs_business_day(schedule, wait_hours):
    from datetime import timedelta

    campaign = load_campaign(M2).model_copy(update={"schedule": schedule})
    assert campaign.approval_wait() == timedelta(hours=min(campaign.approval_timeout_hours, wait_hours))


def test_a_campaign_without_self_service_offers_promises_but_no_plans(tmp_path):
    text = M2.read_text()
    path = tmp_path / "m2_plus.yaml"
    path.write_text(text[: text.index("# What the debtor may choose")])
    campaign = load_campaign(path)
    assert campaign.self_service.plans == ()
    assert campaign.self_service.promise_horizon_days == 14


def test_the_shipped_campaigns_offer_their_plans():
    from decimal import Decimal

    m1 = load_campaign(SHIPPED_CAMPAIGNS / "m1_self_service.yaml").self_service
    m2 = load_campaign(M2).self_service
    assert (m1.promise_horizon_days, m2.promise_horizon_days) == (14, 10)
    assert [(p.instalments, p.minimum_instalment, p.every_days) for p in m1.plans] == [
        (3, Decimal(25), 30),
        (6, Decimal(25), 30),
    ]
    assert [p.instalments for p in m2.plans] == [3, 6, 12]
    assert {p.minimum_instalment for p in m2.plans} == {Decimal(50)}
