from datetime import UTC, date, datetime

import pandas as pd

from outreach.campaigns import load_campaigns
from outreach.pipeline import business_day
from outreach.planner import plan_day, step_key
from tests.factories import snapshot_account

DAY = date(2026, 11, 20)  # a Friday
CAMPAIGN = load_campaigns()[0]
NO_SUPPRESSIONS = pd.DataFrame(columns=["account_id", "channel", "address", "reason", "source", "effective_at"])
NO_EVENTS = pd.DataFrame(columns=["account_id", "at", "channel", "kind", "outcome", "address"])


def plan(accounts, history=(), events=NO_EVENTS, suppressions=NO_SUPPRESSIONS, day=DAY):
    frame = pd.DataFrame(accounts)
    hist = pd.DataFrame(list(history), columns=["account_id", "stage", "channel", "business_date"])
    return plan_day(
        frame,
        CAMPAIGN,
        hist,
        events,
        suppressions,
        business_day(day, "America/New_York"),
        "run-1",
        datetime(2026, 11, 20, 12, tzinfo=UTC),
    )


def test_day_one_of_m1_is_a_text_planned_for_when_new_york_wakes_up():
    result = plan([snapshot_account(DAY, 1)])
    (step,) = result.steps
    assert (step["stage"], step["channel"], step["decision"], step["status"]) == ("m1-sms-1", "sms", "defer", "pending")
    assert step["window_start"] == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert step["window_end"] == datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    assert step["step_key"] == step_key("AC1", "default", "m1-sms-1", "sms", DAY)


def test_a_call_due_on_a_sunday_is_held_until_monday_with_the_reason():
    sunday = date(2026, 11, 22)
    result = plan([snapshot_account(sunday, 6)], day=sunday)
    (step,) = result.steps
    assert (step["channel"], step["status"], step["decision"]) == ("voice", "held", "defer")
    assert "Sunday" in step["status_reason"] and "2026-11-23" in step["status_reason"]
    assert step["rule_ids"].startswith("soft.avoid_days"), "the day to avoid is the reason, not the quiet hours"


def test_an_opt_out_recorded_before_the_day_holds_the_step():
    suppressions = pd.DataFrame(
        [
            {
                "account_id": "AC1",
                "reason": "electronic_address_opt_out",
                "channel": "sms",
                "address": "+12125550142",
                "source": "sms_reply",
                "note": None,
                "effective_at": datetime(2026, 11, 19, tzinfo=UTC),
                "lifted_at": None,
            }
        ]
    )
    (step,) = plan([snapshot_account(DAY, 1)], suppressions=suppressions).steps
    assert (step["status"], step["rule_ids"]) == ("held", "regf.optout")


def test_the_latest_due_stage_is_taken_without_backfilling_missed_ones():
    result = plan([snapshot_account(DAY, 7)])
    assert [s["stage"] for s in result.steps] == ["m1-call-1"]


def test_m2_plus_gets_text_and_email_on_the_same_day():
    result = plan([snapshot_account(DAY, 33)])
    assert sorted(s["channel"] for s in result.steps) == ["email", "sms"]


def test_a_stage_already_done_in_this_episode_waits_for_the_next():
    history = [{"account_id": "AC1", "stage": "m1-sms-1", "channel": "sms", "business_date": date(2026, 11, 19)}]
    result = plan([snapshot_account(DAY, 2)], history)
    assert result.steps == []
    (entry,) = result.audit
    assert entry["decision"] == "wait" and "next stage m1-email-1 on day 3" in entry["reason"]


def test_a_new_delinquency_episode_starts_the_ladder_again():
    # Texted on day 1 of an earlier episode, cured, and 1 DPD again today.
    history = [{"account_id": "AC1", "stage": "m1-sms-1", "channel": "sms", "business_date": date(2026, 10, 1)}]
    result = plan([snapshot_account(DAY, 1)], history)
    assert [s["stage"] for s in result.steps] == ["m1-sms-1"]


def test_current_accounts_leave_outreach_with_a_reason():
    result = plan([snapshot_account(DAY, 0)])
    assert result.steps == []
    assert "current" in result.audit[0]["reason"]


def test_held_steps_are_kept_with_their_reason_and_audited():
    result = plan([snapshot_account(DAY, 1, flags="bankruptcy")])
    (step,) = result.steps
    assert (step["status"], step["rule_ids"]) == ("held", "bk.automatic_stay")
    assert result.audit[0]["step_key"] == step["step_key"]
    assert result.audit[0]["decision"] == "block"


def test_the_plan_is_a_pure_function_of_its_inputs():
    accounts = [snapshot_account(DAY, d, account_id=f"AC{d}") for d in (1, 3, 6, 40, 95)]
    assert plan(accounts).steps == plan(accounts).steps
