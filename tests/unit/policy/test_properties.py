"""Properties that hold for any consumer, place and time."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.policy import decide
from outreach.policy.checks import allowed_intervals
from outreach.policy.model import Phone
from outreach.policy.zones import candidate_zones
from tests.unit.policy.builders import account, ask, call

PHONES = [
    "+12125550142",
    "+13105550111",
    "+13125550100",
    "+19075550100",
    "+18085550100",
    "+16025550100",
    "+8613812345678",
    "+16715550100",
]
STATES = [None, "NY", "CA", "IN", "TX", "AK", "HI", "AZ", "MA", "WA"]
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@st.composite
def questions(draw):
    phones = draw(st.lists(st.sampled_from(PHONES), min_size=1, max_size=3, unique=True))
    region = draw(st.sampled_from(STATES))
    channel = draw(st.sampled_from(["sms", "email", "voice"]))
    at = draw(moments)
    history = [
        call((at - timedelta(hours=h)).isoformat(), address=phones[0])
        for h in draw(st.lists(st.integers(1, 200), max_size=9))
    ]
    facts = account(region=region, phones=[Phone(number=p) for p in phones])
    address = "jane@example.com" if channel == "email" else phones[0]
    return ask(channel, at=at.isoformat(), address=address, account=facts, history=history)


def in_every_local_window(question, moment):
    acct = question.account
    zones = candidate_zones(acct.stated_timezone, [p.number for p in acct.phones], acct.country, acct.region)
    local_hours = [moment.astimezone(ZoneInfo(z)) for z in zones]
    return all(8 <= t.hour < 21 for t in local_hours)


@settings(max_examples=150, deadline=None)
@given(questions())
def test_no_send_ever_falls_outside_the_consumer_local_hours(question):
    decision = decide(question)
    if decision.decision == "send":
        assert in_every_local_window(question, question.at)
    if decision.decision == "defer":
        assert in_every_local_window(question, decision.not_before)


@settings(max_examples=150, deadline=None)
@given(questions())
def test_a_defer_time_is_itself_a_send(question):
    decision = decide(question)
    if decision.decision == "defer":
        assert decision.not_before > question.at
        again = decide(question.model_copy(update={"at": decision.not_before}))
        assert again.decision == "send", (decision, again.reasons)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "America/New_York",
                "America/Los_Angeles",
                "Pacific/Honolulu",
                "Asia/Shanghai",
                "Pacific/Guam",
                "America/Anchorage",
            ]
        ),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    st.dates(min_value=datetime(2026, 1, 1).date(), max_value=datetime(2027, 12, 31).date()),
)
def test_allowed_intervals_are_inside_every_zone_window(zones, day):
    for start, end in allowed_intervals(tuple(zones), day, time(8), time(21), 0, 30):
        assert end - start >= timedelta(minutes=30)
        for zone in zones:
            local_start, local_end = (
                start.astimezone(ZoneInfo(zone)),
                (end - timedelta(seconds=1)).astimezone(ZoneInfo(zone)),
            )
            assert 8 <= local_start.hour < 21 and 8 <= local_end.hour < 21
