from datetime import UTC, date, datetime

import pandas as pd
import pytest

from outreach.campaigns import load_campaign
from outreach.pipeline import business_day
from outreach.planner import plan_day, step_key
from outreach.settings import SHIPPED_CAMPAIGNS
from tests.factories import snapshot_account as any_snapshot_account

DAY = date(2026, 11, 20)  # a Friday
CAMPAIGN = load_campaign(SHIPPED_CAMPAIGNS / "m1_self_service.yaml")
# An account the champion arm (text first) serves.
SMS_FIRST = next(f"AC{n}" for n in range(1, 100) if CAMPAIGN.variant_for(f"AC{n}") == "sms_first")


def snapshot_account(day, dpd, **overrides):
    return any_snapshot_account(day, dpd, **{"account_id": SMS_FIRST, **overrides})


NO_SUPPRESSIONS = pd.DataFrame(columns=["account_id", "channel", "address", "reason", "source", "effective_at"])
NO_EVENTS = pd.DataFrame(columns=["account_id", "at", "channel", "kind", "outcome", "address"])


def text_opt_out(account_id: str | None, number: str) -> pd.DataFrame:
    """A STOP by text from ``number``, recorded the day before against ``account_id``."""
    return pd.DataFrame(
        [
            {
                "account_id": account_id,
                "reason": "electronic_address_opt_out",
                "channel": "sms",
                "address": number,
                "source": "sms_reply",
                "note": None,
                "effective_at": datetime(2026, 11, 19, tzinfo=UTC),
                "lifted_at": None,
            }
        ]
    )


def plan(accounts, events=NO_EVENTS, suppressions=NO_SUPPRESSIONS, day=DAY, positions=None):
    frame = pd.DataFrame(accounts)
    return plan_day(
        frame,
        CAMPAIGN,
        positions or {},
        {},
        events,
        suppressions,
        business_day(day, "America/New_York"),
        "run-1",
        datetime(2026, 11, 20, 12, tzinfo=UTC),
    )


def test_day_one_of_m1_is_a_text_planned_for_when_new_york_wakes_up():
    result = plan([snapshot_account(DAY, 1)])
    (step,) = result.steps
    assert (step["stage"], step["channel"], step["decision"], step["status"]) == (
        "reminder-sms",
        "sms",
        "defer",
        "pending",
    )
    assert step["window_start"] == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert step["window_end"] == datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    assert step["step_key"] == step_key(SMS_FIRST, "m1_self_service", "reminder-sms", "sms", DAY)


def test_a_call_due_on_a_sunday_is_held_until_monday_with_the_reason():
    sunday = date(2026, 11, 22)
    # No text or email on file: the ladder goes straight to its call.
    result = plan([snapshot_account(sunday, 6, mobile_phone=None, email=None, home_phone="+12125550142")], day=sunday)
    (step,) = result.steps
    assert (step["channel"], step["status"], step["decision"]) == ("voice", "held", "defer")
    assert "Sunday" in step["status_reason"] and "2026-11-23" in step["status_reason"]
    assert step["rule_ids"].startswith("soft.avoid_days"), "the day to avoid is the reason, not the quiet hours"


def test_a_text_opt_out_holds_the_text_and_the_stage_falls_back_to_email():
    text, email = plan([snapshot_account(DAY, 1)], suppressions=text_opt_out(SMS_FIRST, "+12125550142")).steps
    assert (text["channel"], text["status"], text["rule_ids"]) == ("sms", "held", "regf.optout")
    assert (email["channel"], email["status"]) == ("email", "pending"), "the stage falls back to email the same day"


@pytest.mark.parametrize("opted_out_by", ["ANOTHER-ACCOUNT", None], ids=["another account", "no account"])
def test_a_text_opt_out_follows_the_number_to_every_account_that_lists_it(opted_out_by):
    # The same phone on a second account, or a STOP from a number the book did not list yet.
    suppressions = text_opt_out(opted_out_by, "+12125550142")
    text, _ = plan([snapshot_account(DAY, 1, mobile_phone="+12125550142")], suppressions=suppressions).steps
    assert (text["channel"], text["status"], text["rule_ids"]) == ("sms", "held", "regf.optout")
    other_number = plan([snapshot_account(DAY, 1, mobile_phone="+12125550143")], suppressions=suppressions).steps[0]
    assert (other_number["channel"], other_number["status"]) == ("sms", "pending")


def test_an_account_that_turns_current_leaves_the_ladder_with_a_reason():
    yesterday = plan([snapshot_account(DAY, 1)]).positions
    result = plan([snapshot_account(DAY, 0)], positions={p.account_id: p for p in yesterday})
    assert result.steps == []
    (ended,) = result.positions
    assert ended.status == "ended" and "current" in result.audit[0]["reason"]


def test_held_steps_are_kept_with_their_reason_and_audited():
    result = plan([snapshot_account(DAY, 1, flags="bankruptcy")])
    (step,) = result.steps
    assert (step["status"], step["rule_ids"]) == ("held", "bk.automatic_stay")
    held = [a for a in result.audit if a["step_key"] == step["step_key"]]
    assert [a["decision"] for a in held] == ["block"]
    assert not any(a["decision"] == "fallback" for a in result.audit), "a hold on the account is not a dead channel"


def test_the_plan_is_a_pure_function_of_its_inputs():
    accounts = [snapshot_account(DAY, d, account_id=f"AC{d}") for d in (1, 3, 6, 40, 95)]
    assert plan(accounts).steps == plan(accounts).steps
