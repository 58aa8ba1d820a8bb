"""Quiet hours in the consumer's local time, days to avoid, and times they asked us to avoid."""

import random
from datetime import time

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from phonenumbers.tzdata import TIMEZONE_DATA

from outreach.policy import decide
from outreach.policy.model import InconvenientTime, Phone
from outreach.policy.zones import US_FALLBACK_ZONES, candidate_zones, zones_for_number, zones_looked_up
from tests.unit.policy.builders import CN_MOBILE, LA_HOME, NY_MOBILE, account, ask, utc

NY = account()


@pytest.mark.parametrize(
    ("at", "decision"),
    [
        ("2026-11-18T12:59:59Z", "defer"),  # 07:59:59 in New York
        ("2026-11-18T13:00:00Z", "send"),  # 08:00 exactly
        ("2026-11-19T01:59:59Z", "send"),  # 20:59:59
        ("2026-11-19T02:00:00Z", "defer"),  # 21:00 exactly: inconvenient
    ],
)
def test_the_window_is_8_to_21_local_with_8_in_and_21_out(at, decision):
    assert decide(ask("sms", at=at)).decision == decision


def test_a_text_at_night_defers_to_8_the_next_morning():
    decision = decide(ask("sms", at="2026-11-18T03:00:00Z"))  # 22:00 on the 17th in New York
    assert decision.decision == "defer"
    assert decision.not_before == utc("2026-11-18T13:00:00Z")
    assert decision.rules == ("regf.window",)


def test_the_window_applies_to_email_too():
    assert decide(ask("email", at="2026-11-18T03:00:00Z")).decision == "defer"


@pytest.mark.parametrize(
    ("day", "opens"),
    [
        ("2026-03-06", "2026-03-06T13:00:00Z"),  # EST, before spring forward
        ("2026-03-09", "2026-03-09T12:00:00Z"),  # EDT, after 2026-03-08
        ("2026-10-30", "2026-10-30T12:00:00Z"),  # EDT, before fall back
        ("2026-11-02", "2026-11-02T13:00:00Z"),  # EST, after 2026-11-01
    ],
)
def test_daylight_saving_moves_8am_in_utc_both_ways(day, opens):
    decision = decide(ask("sms", at=f"{day}T05:00:00Z"))
    assert decision.not_before == utc(opens)


def test_on_the_spring_forward_day_itself_8am_is_edt():
    assert decide(ask("sms", at="2026-03-08T05:00:00Z")).not_before == utc("2026-03-08T12:00:00Z")


def test_a_new_york_mobile_and_a_los_angeles_home_phone_give_11_to_21_eastern():
    facts = account(phones=[Phone(number=NY_MOBILE), Phone(number=LA_HOME, type="landline")])
    early = decide(ask("voice", at="2026-11-18T14:00:00Z", account=facts))  # 09:00 ET, 06:00 PT
    assert early.decision == "defer" and early.not_before == utc("2026-11-18T16:00:00Z")  # 11:00 ET
    late = decide(ask("sms", at="2026-11-19T01:30:00Z", account=facts))  # 20:30 ET
    assert late.decision == "send" and late.window_end == utc("2026-11-19T02:00:00Z")


def test_the_address_counts_as_a_location_even_when_the_phone_says_otherwise():
    facts = account(region="CA")  # New York mobile, California address
    assert set(candidate_zones(None, [NY_MOBILE], "US", "CA")) == {"America/Los_Angeles", "America/New_York"}
    assert decide(ask("sms", at="2026-11-18T14:00:00Z", account=facts)).decision == "defer"


def test_a_stated_timezone_is_the_only_one_that_counts():
    facts = account(region="CA", stated_timezone="America/Denver")
    decision = decide(ask("sms", at="2026-11-18T15:00:00Z", account=facts))  # 08:00 in Denver
    assert decision.decision == "send" and decision.zones == ("America/Denver",)


def test_split_states_require_both_zones():
    assert set(candidate_zones(None, [], "US", "IN")) == {"America/New_York", "America/Chicago"}


def test_unplaceable_consumers_get_every_us_zone():
    assert candidate_zones(None, ["+18005550123"], "US", None) == US_FALLBACK_ZONES
    decision = decide(
        ask(
            "sms",
            address="+18005550123",
            at="2026-11-18T14:00:00Z",
            account=account(region=None, phones=[Phone(number="+18005550123")]),
        )
    )
    assert decision.decision == "defer" and decision.not_before == utc("2026-11-18T18:00:00Z")  # 08:00 in Honolulu


def test_guam_and_new_york_share_an_evening_so_the_window_crosses_dates():
    facts = account(stated_timezone=None, region="NY", phones=[Phone(number=NY_MOBILE), Phone(number="+16715550100")])
    decision = decide(ask("sms", at="2026-01-14T15:00:00Z", account=facts))
    assert decision.decision == "defer"
    # 08:00 in Guam (UTC+10) is 22:00 UTC = 17:00 in New York, both inside 08:00-21:00.
    assert decision.not_before == utc("2026-01-14T22:00:00Z")
    assert decision.window_end == utc("2026-01-15T02:00:00Z")


def test_new_york_and_shanghai_share_two_hours_a_day():
    facts = account(phones=[Phone(number=NY_MOBILE), Phone(number=CN_MOBILE)], region=None)
    decision = decide(ask("sms", account=facts))
    # 19:00-21:00 in New York is 08:00-10:00 the next morning in Shanghai.
    assert decision.not_before == utc("2026-11-19T00:00:00Z")
    assert decision.window_end == utc("2026-11-19T02:00:00Z")


def test_no_common_time_across_zones_goes_to_a_person():
    # New York, Moscow and Magadan are eight hours apart each: no hour is 08:00-21:00 in all three.
    phones = [Phone(number=NY_MOBILE), Phone(number="+74951234567"), Phone(number="+74132123456")]
    decision = decide(ask("sms", account=account(phones=phones, region=None)))
    assert decision.decision == "review" and decision.rules == ("regf.window",)
    assert "a person must decide" in decision.reason_text()


def test_china_window_runs_8_to_22_shanghai_time():
    facts = account(country="CN", region="BJ", phones=[Phone(number=CN_MOBILE, type="mobile")])
    assert decide(ask("sms", address=CN_MOBILE, at="2026-11-18T13:59:00Z", account=facts)).decision == "send"
    late = decide(ask("sms", address=CN_MOBILE, at="2026-11-18T14:00:00Z", account=facts))
    assert late.decision == "defer" and late.rules == ("cn.window",)
    assert late.not_before == utc("2026-11-19T00:00:00Z")


def test_calls_start_15_minutes_before_the_window_closes():
    assert decide(ask("voice", at="2026-11-19T01:44:00Z")).decision == "send"  # 20:44
    decision = decide(ask("voice", at="2026-11-19T01:46:00Z"))  # 20:46
    assert decision.decision == "defer" and "soft.call_end_buffer" in decision.rules
    assert decide(ask("sms", at="2026-11-19T01:46:00Z")).decision == "send"


def test_inconvenient_times_the_consumer_named_are_subtracted():
    facts = account(
        inconvenient_times=[InconvenientTime(days=("mon", "tue", "wed", "thu", "fri"), start=time(9), end=time(17))]
    )
    decision = decide(ask("sms", at="2026-11-18T15:00:00Z", account=facts))  # Wednesday 10:00
    assert decision.decision == "defer"
    assert decision.not_before == utc("2026-11-18T22:00:00Z")  # 17:00
    assert "regf.inconvenient_designated" in decision.rules
    assert decide(ask("sms", at="2026-11-21T15:00:00Z", account=facts)).decision == "send"  # Saturday


def test_calls_avoid_sundays_and_federal_holidays_texts_only_holidays():
    sunday = decide(ask("voice", at="2026-11-22T15:00:00Z"))
    assert sunday.decision == "defer" and sunday.not_before == utc("2026-11-23T13:00:00Z")
    assert decide(ask("sms", at="2026-11-22T15:00:00Z")).decision == "send"
    thanksgiving = decide(ask("sms", at="2026-11-26T15:00:00Z"))
    assert thanksgiving.decision == "defer" and "Thanksgiving" in thanksgiving.reason_text()
    assert thanksgiving.not_before == utc("2026-11-27T13:00:00Z")


def test_holidays_never_widen_the_window():
    decision = decide(ask("voice", at="2026-12-25T03:00:00Z"))  # Christmas Eve 22:00 ET
    assert decision.not_before == utc("2026-12-26T13:00:00Z")  # not Christmas Day at all, then 08:00


def test_numbers_alike_in_prefix_and_length_are_placed_as_phonenumbers_places_each_of_them():
    """The zones of a number are looked up once per prefix; every number gets the zones its own
    lookup gives, whichever number of its prefix was looked up first."""
    rng = random.Random(20261204)
    numbers = []
    for region in ("US", "CA", "PR", "CN", "GB", "IE", "BR", "AU", "IT", "JP", "MX", "IN", "DE", "FR"):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = str(example.national_number)
            for _ in range(300):
                # The leading digits kept, the rest drawn: many prefixes, many numbers to each.
                kept = rng.randint(1, len(national))
                drawn = "".join(rng.choice("0123456789") for _ in range(len(national) - kept + rng.randint(-1, 1)))
                numbers.append(f"+{example.country_code}{national[:kept]}{drawn}")
    # And numbers under the longest prefixes the time-zone table lists, where a shorter cut would mix zones.
    for prefix in (p for p in TIMEZONE_DATA if len(p) >= 8):
        for length in (10, 11, 12):
            for _ in range(2):
                numbers.append("+" + prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix))))
    rng.shuffle(numbers)
    placed = [zones_for_number(n) for n in numbers]
    assert sum(1 for zones in placed if zones) > len(numbers) // 4, "the sample holds placeable numbers"
    assert placed == [zones_looked_up(n) for n in numbers]
