"""A plan whose policy decisions are shared by classes of steps equals the plan that asks the
engine about every step on its own: decision for decision, reason for reason."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.campaigns import load_campaign
from outreach.ladder import History, Position, StepOutcome
from outreach.pipeline import business_day
from outreach.planner import plan_day
from outreach.policy.rules import load_rules
from outreach.settings import SHIPPED_CAMPAIGNS
from tests.factories import snapshot_account

CAMPAIGNS = {name: load_campaign(SHIPPED_CAMPAIGNS / f"{name}.yaml") for name in ("m1_self_service", "m2_plus")}
# A Friday, a Saturday, a Sunday, Thanksgiving and a Tuesday.
DAYS = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22), date(2026, 11, 26), date(2026, 12, 1)]
# Few numbers and inboxes, so that accounts share them: an opt-out or a number check about one
# number then concerns every account listing it.
US_NUMBERS = ["+12125550142", "+13105550111", "+13125550100", "+16175550100", "+18005550100", "+19075550100"]
CN_NUMBERS = ["+8613812345678", "+8613912345678"]
EMAILS = ["a@example.com", "b@example.com", "c@example.org"]
CONSENTED = st.sampled_from([True, True, True, False])
FLAGS = ["", "", "", "", "", "dispute", "bankruptcy", "cease_and_desist", "attorney", "deceased", "dispute|attorney"]
STATES = [None, "NY", "MA", "CA", "TX", "FL", "IN"]
ZIPS = [None, "10001", "11201", "02110", "90001"]
PLANNED_AT = datetime(2026, 12, 1, 12, tzinfo=UTC)
# The shipped rules, and the same with New York City's rules (read only for a New York postal code) on.
RULES = [
    load_rules(),
    load_rules().tightened({"rules": {"nyc.e_consent": {"enabled": True}, "nyc.3per7": {"enabled": True}}}),
]
CAMPAIGN_DAYS_PAST_DUE = {"m1_self_service": [3, 12, 29], "m2_plus": [31, 45, 75, 120]}
SOME_TIME = st.sampled_from([None, datetime(2026, 10, 1, 15, tzinfo=UTC), datetime(2026, 11, 18, 15, tzinfo=UTC)])


def as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """As the ledger gives its rows: a missing value is None."""
    return frame.astype(object).where(frame.notna(), None)


def account_facts(china: bool) -> dict[str, st.SearchStrategy]:
    numbers = CN_NUMBERS if china else US_NUMBERS
    maybe_number = st.one_of(st.none(), st.sampled_from(numbers))
    quiet_hours = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": time(9), "end": time(17)}]
    return {
        "dpd": st.sampled_from([0, 3, 12, 29, 31, 45, 75, 120]),
        "region": st.just(None) if china else st.sampled_from(STATES),
        "postal_code": st.just(None) if china else st.sampled_from(ZIPS),
        "stated_timezone": st.sampled_from([None, None, None, "America/Chicago"]),
        "mobile_phone": maybe_number,
        "home_phone": maybe_number,
        "work_phone": maybe_number,
        "email": st.one_of(st.none(), st.sampled_from(EMAILS)),
        "consent_sms": CONSENTED,
        "consent_voice": CONSENTED,
        "consent_email": CONSENTED,
        "flags": st.sampled_from(FLAGS),
        "collector_type": st.sampled_from(["first_party", "first_party", "third_party", "debt_buyer"]),
        "initial_communication_at": SOME_TIME,
        "validation_notice_at": SOME_TIME,
        "inconvenient_times": st.sampled_from([None, quiet_hours]),
    }


@st.composite
def books(draw, campaign, ids: list[str], day: date) -> pd.DataFrame:
    """Accounts alike but for a fact each: a class that wrongly ignores a fact then holds
    accounts the engine would answer differently."""
    china = draw(st.integers(0, 5)) == 0
    facts = account_facts(china)
    alike = {name: draw(strategy) for name, strategy in facts.items()}
    # Most of the book is the campaign's; a fact changed may take an account elsewhere.
    alike["dpd"] = draw(st.sampled_from(CAMPAIGN_DAYS_PAST_DUE[campaign.id]))
    book = []
    for account_id in ids:
        own = dict(alike)
        for name in draw(st.lists(st.sampled_from(sorted(facts)), max_size=1)):
            own[name] = draw(facts[name])
        book.append(
            snapshot_account(
                day,
                own.pop("dpd"),
                account_id=account_id,
                country="CN" if china else "US",
                locale="zh" if china else "en",
                **own,
            )
        )
    return as_read(pd.DataFrame(book))


@st.composite
def positions(draw, campaign, account_id: str, day: date) -> tuple[Position, History] | None:
    if draw(st.integers(0, 2)) > 0:
        return None
    variant = campaign.variant_for(account_id)
    ladder = campaign.ladder_for(variant)
    index = draw(st.integers(0, len(ladder) - 1))
    stage = ladder[index]
    since = day - timedelta(days=draw(st.integers(0, 9)))
    position = Position(
        account_id=account_id,
        campaign=campaign.id,
        variant=variant,
        episode_started_on=since - timedelta(days=10),
        last_seen_on=day - timedelta(days=1),
        stage_index=index,
        stage=stage.id,
        stage_since=since,
        status=draw(st.sampled_from(["active", "active", "awaiting_approval"])),
        status_reason="waiting",
        fallback_used=draw(st.booleans()),
    )
    went = [
        StepOutcome(
            stage=stage.id,
            channel=channel,
            business_date=since,
            status=draw(st.sampled_from(["sent", "failed", "held"])),
            decision=draw(st.sampled_from(["send", "block"])),
            attempt=draw(st.sampled_from([None, "delivered", "failed", "undelivered"])),
        )
        for channel in stage.channels
        if draw(st.booleans())
    ]
    return position, History(steps=went)


@st.composite
def contact_events(draw, ids: list[str], start: datetime) -> pd.DataFrame:
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["attempt", "attempt", "inbound", "number_check", "call_consent"]))
        channel = draw(st.sampled_from(["sms", "voice", "email"]))
        address = draw(st.sampled_from(EMAILS if channel == "email" else US_NUMBERS + CN_NUMBERS))
        outcome = draw(
            st.sampled_from(["yes", "no", "no_data"])
            if kind == "number_check"
            else st.sampled_from(["delivered", "failed", "busy", "no_answer", "connected", "voicemail", None])
        )
        rows.append(
            {
                "account_id": draw(st.sampled_from(ids)),
                "at": start - timedelta(hours=draw(st.integers(1, 190))),
                "channel": channel,
                "kind": kind,
                "outcome": outcome,
                "address": address,
                "purpose": "collection",
            }
        )
    return as_read(pd.DataFrame(rows, columns=["account_id", "at", "channel", "kind", "outcome", "address", "purpose"]))


@st.composite
def suppressions(draw, ids: list[str], start: datetime) -> pd.DataFrame:
    rows = []
    for _ in range(draw(st.integers(0, 3))):
        by_address = draw(st.booleans())
        channel = draw(st.sampled_from(["sms", "voice", "email"]))
        rows.append(
            {
                # An opt-out names a number or an inbox, and may be recorded against no account at all.
                "account_id": draw(st.one_of(st.none(), st.sampled_from(ids)))
                if by_address
                else draw(st.sampled_from(ids)),
                "reason": "electronic_address_opt_out"
                if by_address
                else draw(st.sampled_from(["dispute", "attorney"])),
                "channel": channel if by_address else None,
                "address": draw(st.sampled_from(EMAILS if channel == "email" else US_NUMBERS)) if by_address else None,
                "source": "sms_reply",
                "note": None,
                "effective_at": start - timedelta(days=1),
                "lifted_at": None,
            }
        )
    columns = ["account_id", "reason", "channel", "address", "source", "note", "effective_at", "lifted_at"]
    return as_read(pd.DataFrame(rows, columns=columns))


@st.composite
def days_of_a_book(draw):
    campaign = CAMPAIGNS[draw(st.sampled_from(sorted(CAMPAIGNS)))]
    day = business_day(draw(st.sampled_from(DAYS)), "America/New_York")
    ids = [f"AC{n}" for n in range(1, draw(st.integers(2, 10)) + 1)]
    book = draw(books(campaign, ids, day.date))
    ladders = {account_id: draw(positions(campaign, account_id, day.date)) for account_id in ids}
    return (
        draw(st.sampled_from(RULES)),
        campaign,
        day,
        book,
        {account_id: moved[0] for account_id, moved in ladders.items() if moved},
        {account_id: moved[1] for account_id, moved in ladders.items() if moved},
        draw(contact_events(ids, day.start)),
        draw(suppressions(ids, day.start)),
    )


def planned(inputs, share: bool):
    rules, campaign, day, book, ladder_positions, histories, events, active = inputs
    # Each plan gets its own copies: the ladder adds what it learns to the histories.
    fresh = {account_id: replace(history) for account_id, history in histories.items()}
    return plan_day(
        book,
        campaign,
        dict(ladder_positions),
        fresh,
        events,
        active,
        day,
        "run-1",
        PLANNED_AT,
        rules,
        share_decisions=share,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(days_of_a_book())
def test_shared_decisions_equal_the_engine_asked_about_every_step(inputs):
    shared, reference = planned(inputs, share=True), planned(inputs, share=False)

    assert shared.steps == reference.steps
    assert shared.audit == reference.audit
    assert shared.handoffs == reference.handoffs
    assert shared.positions == reference.positions
    assert shared.promises == reference.promises
    # Every decision is counted once: from its class or asked on its own.
    assert shared.decided["by_class"] + shared.decided["one_by_one"] == reference.decided["one_by_one"]


def test_accounts_alike_share_one_decision_and_an_account_with_an_opt_out_on_file_is_asked_alone():
    day = business_day(date(2026, 12, 1), "America/New_York")
    campaign = CAMPAIGNS["m2_plus"]
    book = pd.DataFrame(
        [
            snapshot_account(day.date, 45, account_id=f"AC{n}", mobile_phone=f"+1212555{n:04d}", email=None)
            for n in range(1, 6)
        ]
    )
    stop = pd.DataFrame(
        [
            {
                "account_id": None,
                "reason": "electronic_address_opt_out",
                "channel": "voice",
                "address": "+12125550003",
                "source": "call",
                "note": None,
                "effective_at": day.start - timedelta(days=1),
                "lifted_at": None,
            }
        ]
    )
    no_events = pd.DataFrame(columns=["account_id", "at", "channel", "kind", "outcome", "address"])

    plan = plan_day(book, campaign, {}, {}, no_events, stop, day, "run-1", PLANNED_AT)

    # Four calls share one decision; the opted-out number's call, and the text it falls back to (to
    # the same number), are each asked on their own.
    assert plan.decided == {"by_class": 4, "classes": 1, "one_by_one": 2}
    calls = {step["account_id"]: step for step in plan.steps if step["channel"] == "voice"}
    assert calls["AC3"]["decision"] == "block" and "opted out" in calls["AC3"]["reason"]
    assert {calls[f"AC{n}"]["decision"] for n in (1, 2, 4, 5)} == {"defer"}
