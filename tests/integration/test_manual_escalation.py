"""Escalation by hand: accounts moved up their ladder by a named person, with the same policy checks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from outreach import pipeline
from outreach.escalation_request import EscalationError
from tests.days import Book, run_day

DAY = date(2026, 11, 20)  # a Friday
NOW = datetime.combine(DAY, time(18, 0), UTC)  # 13:00 in New York
M2_DUE = DAY - timedelta(days=40)
REASON = "customer asked for a call back from a person"


@pytest.fixture
def book(tmp_path):
    book = Book(tmp_path / "accounts.csv")
    book.add("AC90001", M2_DUE)
    book.add("AC90002", M2_DUE)
    return book


@pytest.fixture
def settings(ledger, settings_for, book):
    return settings_for(ledger, book.path)


@pytest.fixture
def planned(settings, book):
    """The day pulled and the M2+ campaign planned, nothing dispatched yet."""
    book.write()
    ref = pipeline.segment(pipeline.pull(DAY, f"scheduled__{DAY}", settings), settings)
    return pipeline.plan(ref, "m2_plus", settings)


def escalate(settings, run="manual__1", by="ops.lead", **params):
    form = {"target_stage": "m2_plus/agent-callback", "reason": REASON, "dry_run": False, **params}
    return pipeline.escalate(form, by, run, settings, now=NOW)


def outcomes(ledger, ref):
    _, accounts = ledger.escalation(ref["escalation_id"])
    return {row["account_id"]: (row["outcome"], row["detail"]) for row in accounts.to_dict("records")}


def test_an_escalation_moves_the_account_sends_the_target_stage_and_records_who_and_why(settings, ledger, planned):
    ref = escalate(settings, account_ids="AC90001")
    assert ref["outcomes"] == {"escalated": 1}
    position = ledger.positions(["AC90001"])["AC90001"]
    assert (position.stage, position.status) == ("agent-callback", "active")
    assert position.status_reason == f"escalated by ops.lead: {REASON}"

    pipeline.dispatch_due(ref, settings, now=NOW)
    queue = ledger.handoffs(kind=["agent_queue"])
    assert queue["account_id"].tolist() == ["AC90001"] and queue["status"].tolist() == ["open"]
    # The call planned for today before the escalation no longer goes; the other account's still does.
    steps = ledger.steps(DAY, campaign="m2_plus").set_index("step_key")
    call = steps.loc[f"AC90001|m2_plus|past-due-call|voice|{DAY}"]
    assert (call["status"], call["status_reason"]) == ("held", "superseded: escalated by ops.lead to agent-callback")
    assert steps.loc[f"AC90002|m2_plus|past-due-call|voice|{DAY}", "status"] == "pending", "not this run's step"

    decisions = ledger.account_timeline("AC90001")["decisions"]
    escalated = decisions[decisions["actor"] == "escalation"]["reason"].tolist()
    assert f"[m2_plus] escalated by ops.lead from past-due-call to agent-callback: {REASON}" in escalated

    report = pipeline.escalation_report(ref, settings)
    text = Path(report["report_path"]).read_text(encoding="utf-8")
    assert "requested by ops.lead" in text and f"reason: {REASON}" in text
    assert "AC90001" in text and "agent_queue: sent" in text


def test_the_daily_run_carries_on_from_the_escalated_stage(settings, ledger, planned, book):
    escalate(settings, account_ids="AC90001")
    run_day(settings, DAY, campaigns=("m2_plus",), now=NOW)
    run_day(settings, DAY + timedelta(days=1), campaigns=("m2_plus",))
    position = ledger.positions(["AC90001"])["AC90001"]
    assert position.stage == "agent-callback" and position.stage_since == DAY
    attempts = ledger.account_timeline("AC90001")["attempts"]["step_key"].tolist()
    assert not any("|past-due-call|" in key for key in attempts), "the superseded call never went"


def test_a_dry_run_reports_what_would_happen_and_changes_nothing(settings, ledger, planned):
    before = ledger.positions()
    steps_before = ledger.steps(DAY)
    ref = escalate(settings, account_ids="AC90001 AC90002", dry_run=True)
    assert ref["outcomes"] == {"would_escalate": 2}
    assert ledger.positions() == before
    assert ledger.steps(DAY).equals(steps_before)
    assert ledger.handoffs().empty
    refused = escalate(
        settings, "manual__dry2", account_ids="AC99999 AC90001", dry_run=True, target_stage="m2_plus/past-due-call"
    )
    assert outcomes(ledger, refused)["AC90001"][0] == "refused"
    assert ledger.account_timeline("AC90001")["decisions"].query("actor == 'escalation'").empty, (
        "a dry run writes nothing"
    )
    text = Path(pipeline.escalation_report(ref, settings)["report_path"]).read_text(encoding="utf-8")
    assert "DRY RUN: nothing was changed" in text and "would escalate" in text


def test_accounts_that_may_not_move_are_refused_each_with_its_reason(settings, ledger, book):
    book.add("AC90003", M2_DUE, flags="dispute")
    book.add("AC90004", DAY + timedelta(days=5))  # not due yet: current
    book.add("AC00001", DAY - timedelta(days=10))  # M1
    book.add("AC90005", M2_DUE, flags="paid_in_full")
    book.write()
    ref = pipeline.segment(pipeline.pull(DAY, f"scheduled__{DAY}", settings), settings)
    pipeline.plan(ref, "m2_plus", settings)
    escalate(settings, "manual__first", account_ids="AC90002")

    ref = escalate(settings, account_ids="AC90001,AC90002,AC90003,AC90004,AC00001,AC90005,AC99999")
    result = outcomes(ledger, ref)
    assert result["AC90001"][0] == "escalated"
    assert result["AC90002"] == ("refused", "already at agent-callback")
    assert result["AC90003"][0] == "refused" and "the contact policy forbids it" in result["AC90003"][1]
    assert "dispute" in result["AC90003"][1].lower()
    assert result["AC90004"] == ("refused", "current (DPD -5): nothing to escalate")
    assert result["AC00001"] == ("refused", "in bucket M1, which m2_plus does not serve")
    assert result["AC90005"] == ("refused", "paid in full: nothing to escalate")
    assert result["AC99999"] == ("not_found", f"not among the accounts of {DAY}")
    assert ledger.positions(["AC90003"])["AC90003"].stage == "past-due-call", "a refused account stays put"
    timeline = ledger.account_timeline("AC00001")["decisions"]
    refusals = timeline[(timeline["actor"] == "escalation") & (timeline["decision"] == "refused")]["reason"].tolist()
    assert refusals == [
        f"[m2_plus] escalation to agent-callback by ops.lead refused: in bucket M1, which m2_plus does not serve "
        f"(asked because: {REASON})"
    ]

    backwards = escalate(settings, "manual__back", target_stage="m2_plus/past-due-notice", account_ids="AC90001")
    assert outcomes(ledger, backwards)["AC90001"] == (
        "refused",
        "already past past-due-notice, at agent-callback; escalation only moves forward",
    )


def test_an_open_promise_to_pay_is_not_overridden_by_hand(settings, ledger, planned):
    ledger.add_promise("AC90001", DAY + timedelta(days=3), 20_000, "USD", "agent", "agent.kim", recorded_at=NOW)
    ref = escalate(settings, account_ids="AC90001")
    outcome, detail = outcomes(ledger, ref)["AC90001"]
    assert outcome == "refused" and detail.startswith(f"promise to pay USD 200.00 by {DAY + timedelta(days=3)}")


def test_an_open_repayment_plan_is_not_overridden_by_hand(settings, ledger, planned):
    from outreach.repayment_plans import instalment_schedule

    plan = instalment_schedule(30_000, 3, DAY + timedelta(days=3), 30)
    ledger.add_promise(
        "AC90001", plan[-1].due_on, 30_000, "USD", "api", "self-service", recorded_at=NOW, instalments=plan
    )
    outcome, detail = outcomes(ledger, escalate(settings, account_ids="AC90001"))["AC90001"]
    assert outcome == "refused"
    assert detail.startswith(f"repayment plan of USD 300.00 in 3 instalments (the last by {plan[-1].due_on}) is open")


def test_escalating_to_a_placement_asks_a_person_to_approve_it(settings, ledger, planned):
    ref = escalate(settings, target_stage="m2_plus/agency-placement", account_ids="AC90001")
    assert "awaits approval in campaign_m2_plus's next run" in outcomes(ledger, ref)["AC90001"][1]
    assert ledger.positions(["AC90001"])["AC90001"].status == "awaiting_approval"
    request = pipeline.approval_request({"campaign": "m2_plus", "business_date": DAY.isoformat()}, settings)
    assert request["count"] == 1 and "| AC90001 | agency northwind_recoveries |" in request["body"]


def test_a_saved_segment_picks_its_accounts(settings, ledger, book, tmp_path):
    book.add("AC90006", DAY - timedelta(days=70), balance_due="3000.00")
    book.add("AC90007", DAY - timedelta(days=70), balance_due="100.00")
    book.write()
    pipeline.plan(pipeline.segment(pipeline.pull(DAY, f"scheduled__{DAY}", settings), settings), "m2_plus", settings)
    ref = escalate(settings, segment="high-balance-60-plus")
    assert set(outcomes(ledger, ref)) == {"AC90006"}
    request, _ = ledger.escalation(ref["escalation_id"])
    assert request["selector"] == "segment: high-balance-60-plus"


def test_a_retried_run_returns_the_recorded_escalation_instead_of_escalating_twice(settings, ledger, planned):
    first = escalate(settings, account_ids="AC90001")
    again = escalate(settings, account_ids="AC90001")
    assert again == first
    assert len(ledger.escalations_of("AC90001")) == 1


def test_an_escalation_before_any_day_is_pulled_says_so(settings, ledger, book):
    with pytest.raises(EscalationError, match="business_date: no accounts pulled yet; escalate after campaign_m2"):
        escalate(settings, account_ids="AC90001")


def test_the_form_left_without_a_date_uses_the_latest_pulled_day_and_the_report_says_which(settings, ledger, planned):
    # Three days on, nothing newer pulled (a replayed book, or before the morning's pull).
    later = NOW + timedelta(days=3)
    ref = pipeline.escalate(
        {"target_stage": "m2_plus/agent-callback", "reason": REASON, "account_ids": "AC90001", "segment": None},
        "ops.lead",
        "manual__later",
        settings,
        now=later,
    )
    assert ref["business_date"] == DAY.isoformat() and ref["outcomes"] == {"would_escalate": 1}
    text = Path(pipeline.escalation_report(ref, settings)["report_path"]).read_text(encoding="utf-8")
    assert f"for business date {DAY}" in text


@pytest.mark.parametrize(
    ("business_date", "problem"),
    [
        (
            DAY - timedelta(days=1),
            f"business_date: no accounts for {DAY - timedelta(days=1)}; the latest pulled day is {DAY}",
        ),
        (
            DAY + timedelta(days=1),
            f"business_date: {DAY + timedelta(days=1)} is after today ({DAY} in America/New_York)",
        ),
        ("20/11/2026", "business_date: '20/11/2026' is not a date (YYYY-MM-DD)"),
    ],
    ids=["not-pulled", "future", "not-a-date"],
)
def test_a_business_date_without_accounts_is_refused_naming_the_latest(
    settings, ledger, planned, business_date, problem
):
    with pytest.raises(EscalationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        escalate(settings, account_ids="AC90001", business_date=str(business_date))
    assert ledger.escalations_of("AC90001").empty


def test_the_report_is_written_as_json_too(settings, ledger, planned):
    ref = escalate(settings, account_ids="AC90001")
    report = pipeline.escalation_report(ref, settings)
    data = json.loads(Path(report["report_path"]).with_suffix(".json").read_text(encoding="utf-8"))
    assert data["requested_by"] == "ops.lead" and data["outcomes"] == {"escalated": 1}
    assert data["accounts"][0]["from_stage"] == "past-due-call"
