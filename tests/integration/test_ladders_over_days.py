"""Accounts walked up their campaign ladders over simulated business days, on a real ledger."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta

import pytest

from outreach.agencies import load_agencies
from outreach.campaigns import load_campaign
from outreach.handoffs import AGENCY_FIELDS, approval_request, record_approval
from outreach.repayment_plans import instalment_schedule
from outreach.settings import SHIPPED_CAMPAIGNS
from tests.days import Book, run_day

M1 = load_campaign(SHIPPED_CAMPAIGNS / "m1_self_service.yaml")
M1_SMS_FIRST = [s.id for s in M1.ladder_for("sms_first")]
START = date(2026, 11, 2)  # a Monday


def business_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() != 6:  # the campaigns run Monday to Saturday
            days.append(day)
        day += timedelta(days=1)
    return days


def evening(day: date) -> datetime:
    return datetime.combine(day, time(23, 0), UTC)


def account_in(variant: str) -> str:
    return next(f"AC{n:05d}" for n in range(1000) if M1.variant_for(f"AC{n:05d}") == variant)


def stages_sent(ledger, account_id: str) -> list[tuple[str, str]]:
    """(stage, channel) of every attempt that reached a provider or person, in order."""
    rows = []
    for row in ledger.account_timeline(account_id)["attempts"].to_dict("records"):
        _, _, stage, channel, _ = row["step_key"].split("|")
        rows.append((stage, channel, row["status"]))
    return [(s, c) for s, c, status in rows if status != "failed"]


@pytest.fixture
def book(tmp_path):
    return Book(tmp_path / "accounts.csv")


@pytest.fixture
def walk(ledger, settings_for, book):
    settings = settings_for(ledger, book.path)

    def run(days, before_each=None, **kwargs):
        for day in days:
            if before_each:
                before_each(day)
            book.write()
            run_day(settings, day, **kwargs)
        return ledger

    run.settings = settings
    return run


def test_an_m1_account_climbs_every_stage_in_order_until_the_ladder_is_complete(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    walk(business_days(START, 20))
    assert [stage for stage, _ in stages_sent(ledger, account)] == M1_SMS_FIRST
    position = ledger.positions([account])[account]
    assert position.status == "complete" and "ladder complete" in position.status_reason
    # Each wait was kept: the email went two days after the text, the call three after the email.
    days = {
        r["step_key"].split("|")[2]: date.fromisoformat(r["step_key"].rsplit("|", 1)[1])
        for r in ledger.account_timeline(account)["attempts"].to_dict("records")
    }
    assert days["reminder-email"] - days["reminder-sms"] == timedelta(days=2)
    assert days["reminder-call"] - days["reminder-email"] == timedelta(days=3)


def test_the_challenger_arm_gets_its_own_ladder_and_keeps_it(walk, book, ledger):
    account = account_in("email_first")
    book.add(account, START - timedelta(days=1))
    walk(business_days(START, 3))
    assert [stage for stage, _ in stages_sent(ledger, account)] == ["reminder-email", "reminder-sms"]
    assert ledger.positions([account])[account].variant == "email_first"


def test_a_permanent_failure_falls_back_to_the_stage_fallback_channel(walk, book, ledger, sandbox, monkeypatch):
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", sandbox.url)
    account = account_in("sms_first")
    # The sandbox refuses texts to numbers ending 98: "not a valid mobile number" (21614).
    book.add(account, START - timedelta(days=1), mobile_phone="+12125550198")
    walk(business_days(START, 2), channel_set="sandbox")
    assert stages_sent(ledger, account) == [("reminder-sms", "email")]
    reasons = ledger.account_timeline(account)["decisions"]["reason"].tolist()
    assert any("could not reach the debtor" in r and "trying email" in r for r in reasons)


def test_without_text_consent_the_fallback_goes_the_same_day(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1), consent_sms="no")
    walk(business_days(START, 1))
    assert stages_sent(ledger, account) == [("reminder-sms", "email")]


def test_a_promise_pauses_outreach_and_a_broken_one_escalates_at_once(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    days = business_days(START, 9)
    walk(days[:1])
    ledger.add_promise(account, days[3], 10_000, "USD", "agent", "agent.kim", recorded_at=evening(days[0]))
    walk(days[1:5])
    assert stages_sent(ledger, account) == [("reminder-sms", "sms")], "nothing goes while the promise stands"
    assert ledger.positions([account])[account].status == "paused"
    walk(days[5:6])  # promised date + one day of grace has passed, nothing paid
    assert stages_sent(ledger, account)[-1] == ("reminder-email", "email")
    assert ledger.promises_of(account)["status"].tolist() == ["broken"]


def test_a_kept_promise_ends_the_episode(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    days = business_days(START, 5)
    walk(days[:1])
    ledger.add_promise(account, days[2], 10_000, "USD", "keypress", "ivr", recorded_at=evening(days[0]))
    ledger.add_payment(account, days[2], 10_000, "USD", "card", reference="PAY-1")
    walk(days[1:5])
    assert ledger.promises_of(account)["status"].tolist() == ["kept"]
    assert ledger.positions([account])[account].status == "ended"
    assert stages_sent(ledger, account) == [("reminder-sms", "sms")]


def plan_of_three(ledger, account: str, first_due: date, made_on: date):
    """USD 150.00 in three instalments of 50.00, two days apart from ``first_due``."""
    plan = instalment_schedule(15_000, 3, first_due, 2)
    ledger.add_promise(
        account, plan[-1].due_on, 15_000, "USD", "agent", "agent.kim", recorded_at=evening(made_on), instalments=plan
    )
    return plan


def decisions_of(ledger, account: str) -> list[str]:
    """The ladder's reasons, without the campaign each starts with."""
    return [r.removeprefix("[m1_self_service] ") for r in ledger.account_timeline(account)["decisions"]["reason"]]


def test_a_repayment_plan_paid_in_full_ends_the_episode(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    days = business_days(START, 8)
    walk(days[:1])
    plan = plan_of_three(ledger, account, days[2], days[0])  # due Nov 4, 6 and 8
    for n, instalment in enumerate(plan):
        ledger.add_payment(account, instalment.due_on, 5_000, "USD", "card", reference=f"PLAN-{n}")
    walk(days[1:7])
    assert ledger.promises_of(account)["status"].tolist() == ["kept"]
    position = ledger.positions([account])[account]
    assert position.status == "ended"
    assert position.status_reason == "repayment plan of USD 150.00 in 3 instalments kept"
    assert stages_sent(ledger, account) == [("reminder-sms", "sms")], "nothing goes while the plan is kept"
    reasons = decisions_of(ledger, account)
    assert f"repayment plan: instalment 2 of 3, USD 50.00 due {plan[1].due_on}; outreach paused" in reasons
    assert f"repayment plan: instalment 3 of 3, USD 50.00 due {plan[2].due_on}; outreach paused" in reasons


def test_a_missed_instalment_past_its_grace_breaks_the_plan_and_escalates_at_once(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    days = business_days(START, 8)
    walk(days[:1])
    plan = plan_of_three(ledger, account, days[2], days[0])  # due Nov 4, 6 and 8; one day of grace
    ledger.add_payment(account, plan[0].due_on, 5_000, "USD", "card", reference="PLAN-1")
    walk(days[1:6])  # up to Saturday Nov 7, the second instalment's day of grace
    assert stages_sent(ledger, account) == [("reminder-sms", "sms")]
    walk(days[6:7])  # Monday Nov 9
    assert ledger.promises_of(account)["status"].tolist() == ["broken"]
    assert stages_sent(ledger, account)[-1] == ("reminder-email", "email")
    position = ledger.positions([account])[account]
    assert (position.stage, position.status, position.status_reason) == (
        "reminder-email",
        "active",
        "a missed instalment escalates",
    )
    assert (
        f"instalment 2 of 3 (USD 50.00 due {plan[1].due_on}) of the repayment plan missed "
        f"(USD 50.00 paid by {days[6]}, grace 1 day(s))"
    ) in decisions_of(ledger, account)
    assert "a missed instalment escalates; on to reminder-email (email)" in decisions_of(ledger, account)


def test_on_an_instalments_day_of_grace_the_plan_still_holds_the_ladder(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    days = business_days(START, 6)
    walk(days[:1])
    plan = plan_of_three(ledger, account, days[2], days[0])
    ledger.add_payment(account, plan[0].due_on, 5_000, "USD", "card", reference="PLAN-1")
    walk(days[1:6])
    assert days[5] == plan[1].due_on + timedelta(days=1), "the last day walked is the day of grace"
    position = ledger.positions([account])[account]
    assert position.status == "paused"
    assert (
        position.status_reason == f"repayment plan: instalment 2 of 3, USD 50.00 due {plan[1].due_on}; outreach paused"
    )
    assert ledger.promises_of(account)["status"].tolist() == ["open"]
    assert stages_sent(ledger, account) == [("reminder-sms", "sms")]


def test_a_part_payment_that_covers_the_first_instalment_only_pauses_on_the_second(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    days = business_days(START, 5)
    walk(days[:1])
    plan = plan_of_three(ledger, account, days[2], days[0])
    ledger.add_payment(account, days[1], 6_000, "USD", "card", reference="PLAN-1")  # early, and 10.00 more
    walk(days[1:5])
    position = ledger.positions([account])[account]
    assert position.status == "paused"
    assert position.status_reason == (
        f"repayment plan: instalment 2 of 3, USD 50.00 due {plan[1].due_on} (USD 10.00 of it paid); outreach paused"
    )
    assert ledger.promises_of(account)["status"].tolist() == ["open"]
    assert stages_sent(ledger, account) == [("reminder-sms", "sms")]


def test_a_plan_is_kept_in_the_ledger_and_counts_payments_from_the_day_it_was_made(ledger):
    today = date(2027, 12, 1)
    plan = instalment_schedule(240_000, 24, date(2026, 1, 5), 31)
    made = datetime(2026, 1, 2, 15, tzinfo=UTC)
    promise_id = ledger.add_promise(
        "AC00001", plan[-1].due_on, 240_000, "USD", "api", "self-service", recorded_at=made, instalments=plan
    )
    ledger.add_payment("AC00001", date(2026, 1, 5), 10_000, "USD", "card", reference="P-1")  # > 366 days ago
    ledger.add_payment("AC00002", date(2026, 1, 5), 10_000, "USD", "card", reference="P-2")  # no plan
    history = ledger.histories("m1_self_service", today - timedelta(days=366), today)
    (promise,) = history["AC00001"].promises
    assert (promise.id, promise.instalments) == (promise_id, plan)
    assert history["AC00001"].payments == [(date(2026, 1, 5), 10_000)]
    assert "AC00002" not in history
    row = ledger.promises_of("AC00001").iloc[0]
    assert row["instalments"][0] == {"due_on": "2026-01-05", "amount_minor": 10_000}


def test_a_plan_whose_date_or_amount_is_not_its_instalments_is_refused(ledger):
    plan = instalment_schedule(15_000, 3, date(2026, 12, 1), 30)
    with pytest.raises(ValueError, match="last due date"):
        ledger.add_promise("AC00001", plan[0].due_on, 15_000, "USD", "api", "self-service", instalments=plan)
    with pytest.raises(ValueError, match="instalments' total 15000"):
        ledger.add_promise("AC00001", plan[-1].due_on, 14_000, "USD", "api", "self-service", instalments=plan)
    assert ledger.promises_of("AC00001").empty


def test_payment_in_full_stops_the_ladder_and_a_new_episode_starts_it_again(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    days = business_days(START, 8)
    walk(days[:3])
    # Paid up: the next due date is in the future, the account is current.
    book.update(account, oldest_unpaid_due_date=(days[3] + timedelta(days=20)).isoformat(), balance_due="0")
    walk(days[3:5])
    assert ledger.positions([account])[account].status == "ended"
    sent_before = stages_sent(ledger, account)
    assert sent_before == [("reminder-sms", "sms"), ("reminder-email", "email")]
    # Overdue again from a later installment: the ladder starts from its first stage.
    book.update(account, oldest_unpaid_due_date=(days[5] - timedelta(days=1)).isoformat(), balance_due="80")
    walk(days[5:6])
    assert stages_sent(ledger, account)[len(sent_before) :] == [("reminder-sms", "sms")]


def test_a_partial_payment_restarts_the_wait_but_never_skips_a_stage(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=20))
    days = business_days(START, 10)
    walk(days[:1])
    # A partial payment covers the oldest installment: DPD drops, the account is still overdue.
    ledger.add_payment(account, days[1], 3_000, "USD", "card", reference="PAY-2")
    book.update(account, oldest_unpaid_due_date=(START - timedelta(days=2)).isoformat())
    walk(days[1:10])
    sent = [stage for stage, _ in stages_sent(ledger, account)]
    assert sent == M1_SMS_FIRST[: len(sent)] and len(sent) >= 3
    decisions = ledger.account_timeline(account)["decisions"]["reason"].tolist()
    assert any(f"last payment {days[1]}" in r for r in decisions), "the wait restarted from the payment"


def test_an_account_seen_every_day_carries_on_when_its_oldest_unpaid_due_date_moves_up(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=20))
    days = business_days(START, 6)
    walk(days[:5])
    # The oldest cycle was paid off: the oldest unpaid due date is now a later one, still past, from
    # days the account was already on the ladder. The episode goes on; it has not started again.
    book.update(account, oldest_unpaid_due_date=days[3].isoformat())
    walk(days[5:])
    position = ledger.positions([account])[account]
    assert position.episode_started_on == days[0] and position.last_seen_on == days[5]
    reasons = ledger.account_timeline(account)["decisions"]["reason"].tolist()
    assert not any("new delinquency episode" in r for r in reasons)


def test_m2_plus_hands_off_to_agents_then_asks_a_person_before_placing_with_an_agency(walk, book, ledger, tmp_path):
    account = "AC90001"
    book.add(account, START - timedelta(days=40))
    days = business_days(START, 14)
    walk(days, campaigns=("m2_plus",))
    queue = ledger.handoffs(kind=["agent_queue"])
    assert queue["account_id"].tolist() == [account] and queue["status"].tolist() == ["open"]
    waiting = ledger.handoffs(kind=["agency"], status=["awaiting_approval"])
    assert waiting["account_id"].tolist() == [account]
    assert ledger.positions([account])[account].status == "awaiting_approval"
    from outreach.explain import explain

    story = explain(ledger, account)  # hand-off steps have no contact address
    assert "agent" in story and "awaiting" in story

    counts = record_approval(
        ledger,
        "m2_plus",
        {
            "chosen_options": ["Approve"],
            "params_input": {"reason": "no contact in 40 days", "exclude": ""},
            "responded_by_user": {"id": "7", "name": "ops.lead"},
            "responded_at": "2026-11-20T15:00:00+00:00",
        },
        days[-1],
        tmp_path / "handoffs",
    )
    assert counts == {"placed": 1}
    placed = ledger.handoffs(kind=["agency"]).iloc[0]
    assert (placed["status"], placed["decided_by"], placed["decision_note"]) == (
        "placed",
        "ops.lead",
        "no contact in 40 days",
    )
    with open(placed["output_file"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["account_id"] for r in rows] == [account]
    assert tuple(rows[0]) == AGENCY_FIELDS, "the agency gets the fields it needs and only those"


def test_a_hold_on_the_account_freezes_the_ladder_where_it_stands(walk, book, ledger):
    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1), flags="dispute")
    walk(business_days(START, 6))
    assert stages_sent(ledger, account) == []
    position = ledger.positions([account])[account]
    assert position.stage == "reminder-sms", "a dispute neither advances nor falls back"
    book.update(account, flags="")
    walk(business_days(START + timedelta(days=7), 1))
    assert stages_sent(ledger, account) == [("reminder-sms", "sms")]


@pytest.fixture
def awaiting_placement(walk, book, ledger):
    account = "AC90002"
    book.add(account, START - timedelta(days=40))
    days = business_days(START, 16)
    walk(days[:14], campaigns=("m2_plus",))
    assert ledger.positions([account])[account].status == "awaiting_approval"
    return account, days


def test_a_rejected_placement_moves_on_to_the_final_letter(walk, ledger, awaiting_placement, tmp_path):
    account, days = awaiting_placement
    response = {
        "chosen_options": ["Reject"],
        "params_input": {"reason": "customer on a hardship plan", "exclude": ""},
        "responded_by_user": {"id": "7", "name": "ops.lead"},
        "responded_at": "2026-11-20T15:00:00+00:00",
    }
    assert record_approval(ledger, "m2_plus", response, days[13], tmp_path) == {"rejected": 1}
    walk(days[14:15], campaigns=("m2_plus",))
    assert ledger.positions([account])[account].stage == "final-letter"
    (letter,) = ledger.handoffs(kind=["letter"]).to_dict("records")
    assert letter["account_id"] == account and letter["output_file"].endswith(f"{days[14]}-m2_plus.csv")
    reasons = " ".join(ledger.account_timeline(account)["decisions"]["reason"])
    assert "rejected by ops.lead: customer on a hardship plan" in reasons


def test_an_account_kept_back_from_an_approval_keeps_waiting_with_its_own_reason(walk, book, ledger, tmp_path):
    kept, placed = "AC90003", "AC90004"
    for account in (kept, placed):
        book.add(account, START - timedelta(days=40))
    days = business_days(START, 16)
    walk(days[:14], campaigns=("m2_plus",))
    response = {
        "chosen_options": ["Approve"],
        # Ids are matched whatever their case; the reason for keeping back is the excluded accounts' own.
        "params_input": {
            "reason": "no contact in 40 days",
            "exclude": kept.lower(),
            "exclude_reason": "customer phoned about a hardship plan",
        },
        "responded_by_user": {"id": "7", "name": "ops.lead"},
        "responded_at": "2026-11-20T15:00:00+00:00",
    }
    assert record_approval(ledger, "m2_plus", response, days[13], tmp_path) == {"placed": 1, "kept_back": 1}
    walk(days[14:15], campaigns=("m2_plus",))

    position = ledger.positions([kept])[kept]
    assert (position.stage, position.status) == ("agency-placement", "awaiting_approval")
    assert ledger.handoffs(kind=["letter"]).empty, "a kept-back account does not move up the ladder"
    waiting = ledger.handoffs(kind=["agency"], status=["awaiting_approval"])
    assert waiting["account_id"].tolist() == [kept]
    reasons = " ".join(ledger.account_timeline(kept)["decisions"]["reason"])
    assert "kept back by ops.lead from the approval: customer phoned about a hardship plan" in reasons
    assert "no contact in 40 days" not in reasons, "the approval's reason is not the kept-back account's"

    request = approval_request(ledger, "m2_plus", days[14], load_agencies(), tmp_path)
    assert request["count"] == 1 and f"| {kept} |" in request["body"]


def test_an_account_kept_back_from_a_rejection_is_not_sent_on_with_the_others(walk, book, ledger, tmp_path):
    kept, rejected = "AC90005", "AC90006"
    for account in (kept, rejected):
        book.add(account, START - timedelta(days=40))
    days = business_days(START, 16)
    walk(days[:14], campaigns=("m2_plus",))
    response = {
        "chosen_options": ["Reject"],
        "params_input": {"reason": "keep these in-house", "exclude": kept, "exclude_reason": "agency asked to see it"},
        "responded_by_user": {"id": "7", "name": "ops.lead"},
        "responded_at": "2026-11-20T15:00:00+00:00",
    }
    assert record_approval(ledger, "m2_plus", response, days[13], tmp_path) == {"rejected": 1, "kept_back": 1}
    walk(days[14:15], campaigns=("m2_plus",))
    positions = ledger.positions([kept, rejected])
    assert positions[rejected].stage == "final-letter", "the rejected account moves on"
    assert (positions[kept].stage, positions[kept].status) == ("agency-placement", "awaiting_approval")
    reasons = " ".join(ledger.account_timeline(kept)["decisions"]["reason"])
    assert "kept back by ops.lead from the rejection: agency asked to see it" in reasons


def test_the_approval_lists_every_account_with_totals_and_flags_those_the_agency_does_not_take(
    walk, book, ledger, tmp_path
):
    # Forty days late on day one: M2 when the placement is asked, below the agency's M3; seventy: M3.
    early = [f"AC9{n:04d}" for n in range(60)]
    late = [f"AC8{n:04d}" for n in range(3)]
    for account in early:
        book.add(account, START - timedelta(days=40), balance_due="100.00")
    for account in late:
        book.add(account, START - timedelta(days=70), balance_due="2500.50")
    days = business_days(START, 14)
    walk(days, campaigns=("m2_plus",))
    waiting = set(ledger.handoffs(kind=["agency"], status=["awaiting_approval"])["account_id"])
    assert waiting == set(early) | set(late)

    request = approval_request(ledger, "m2_plus", days[-1], load_agencies(), tmp_path)
    assert request["count"] == 63 and "more" not in request["body"]
    assert all(f"| {account} |" in request["body"] for account in early + late), "every account is shown"
    assert request["totals"] == {"USD": 60 * 10_000 + 3 * 250_050}
    assert "USD 13,501.50" in request["subject"]
    assert request["misfits"] == 60
    flagged = [line for line in request["body"].splitlines() if "below M3, the earliest it takes" in line]
    assert len(flagged) == 60 and not any(account in "".join(flagged) for account in late)
    with open(request["list_file"], newline="", encoding="utf-8") as handle:
        assert {row["account_id"] for row in csv.DictReader(handle)} == waiting


@pytest.mark.parametrize(
    "response",
    [
        None,  # the task never answered (failed or was skipped)
        {"chosen_options": ["Decide next run"], "params_input": {}, "responded_by_user": None},  # timed out
        {"chosen_options": ["Approve"], "params_input": {"reason": ""}, "responded_by_user": {"name": "x"}},
    ],
    ids=["no-answer", "timed-out", "approve-without-reason"],
)
def test_an_unanswered_placement_lapses_and_is_asked_again_next_run(walk, ledger, awaiting_placement, response):
    account, days = awaiting_placement
    assert record_approval(ledger, "m2_plus", response, days[13], walk.settings.handoffs_dir) == {"timed_out": 1}
    assert not (walk.settings.handoffs_dir / "agency").exists(), "nothing is placed without an approval"
    walk(days[14:15], campaigns=("m2_plus",))
    statuses = ledger.handoffs(kind=["agency"])["status"].tolist()
    assert statuses == ["timed_out", "awaiting_approval"]


def test_explain_tells_the_story_day_by_day_with_contacts_masked(walk, book, ledger):
    from outreach.explain import explain

    account = account_in("sms_first")
    book.add(account, START - timedelta(days=1))
    days = business_days(START, 4)
    walk(days)
    text = explain(ledger, account)
    assert text.startswith(f"Account {account}\nNow: m1_self_service stage reminder-email")
    assert f"{days[0]} (Mon)" in text and "ladder starts at reminder-sms (sms) (variant sms_first)" in text
    assert "no payment within 2 day(s) of reminder-sms (sms)" in text and "on to reminder-email (email)" in text
    assert "+12125550142" not in text and "+1******0142" in text
    assert explain(ledger, account, until=days[0]).count("attempt:") == 1


def test_an_approval_naming_an_agency_the_bank_has_not_listed_places_nothing(walk, book, ledger, tmp_path):
    account = "AC90007"
    book.add(account, START - timedelta(days=40))
    days = business_days(START, 15)
    walk(days[:14], campaigns=("m2_plus",))
    response = {
        "chosen_options": ["Approve"],
        "params_input": {"reason": "no contact in 40 days"},
        "responded_by_user": {"id": "7", "name": "ops.lead"},
        "responded_at": "2026-11-20T15:00:00+00:00",
    }
    assert record_approval(ledger, "m2_plus", response, days[13], tmp_path, agencies={}) == {"not_listed": 1}
    assert not (tmp_path / "agency").exists(), "no placement file went to the agency"
    waiting = ledger.handoffs(kind=["agency"], status=["awaiting_approval"])
    assert waiting["account_id"].tolist() == [account]
    reasons = " ".join(ledger.account_timeline(account)["decisions"]["reason"])
    assert "northwind_recoveries is not on the bank's list of agencies" in reasons
    assert record_approval(ledger, "m2_plus", response, days[13], tmp_path) == {"placed": 1}, "listed: placed"


def test_a_debtor_in_china_is_told_which_agency_collects_before_it_may_contact_them(walk, book, ledger, tmp_path):
    from outreach.agencies import Agency

    account = "AC90008"
    book.add(account, START - timedelta(days=40))
    days = business_days(START, 15)
    walk(days[:13], campaigns=("m2_plus",))
    # The bank's file now gives the debtor's address in Beijing (moved, or corrected).
    china = dict(name="王伟", country="CN", region="BJ", postal_code="100000", locale="zh-CN", currency="CNY")
    book.update(account, mobile_phone="+8613812345678", email="", **china)
    walk(days[13:14], campaigns=("m2_plus",))
    assert ledger.handoffs(kind=["agency"], status=["awaiting_approval"])["account_id"].tolist() == [account]
    listed = {"northwind_recoveries": Agency(name="北风催收有限公司", countries=["CN"], currencies=["CNY"])}
    response = {
        "chosen_options": ["Approve"],
        "params_input": {"reason": "no contact in 40 days"},
        "responded_by_user": {"id": "7", "name": "ops.lead"},
        "responded_at": "2026-11-20T15:00:00+00:00",
    }
    assert record_approval(ledger, "m2_plus", response, days[13], tmp_path, agencies=listed) == {"placed": 1}

    import csv

    contact_from = (days[13] + timedelta(days=7)).isoformat()
    (placement,) = csv.DictReader((tmp_path / "agency").glob("*.csv").__next__().open(encoding="utf-8"))
    assert placement["account_id"] == account and placement["contact_from"] == contact_from
    (notice,) = csv.DictReader(next((tmp_path / "letters").glob("*agency-notices.csv")).open(encoding="utf-8"))
    assert notice["account_id"] == account
    assert "北风催收有限公司" in notice["letter"] and contact_from in notice["letter"] and "王伟" in notice["letter"]
    reasons = " ".join(ledger.account_timeline(account)["decisions"]["reason"])
    assert f"may contact them from {contact_from}" in reasons
