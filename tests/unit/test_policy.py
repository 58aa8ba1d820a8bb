from datetime import UTC, date, datetime, time

import pytest

from outreach.policy import RULES, ContactRequest, decide
from outreach.policy.timezones import allowed_window, candidate_zones
from tests.factories import snapshot_account

DAY = date(2026, 11, 20)


def request(channel="sms", address="+12125550142", **account_overrides):
    return ContactRequest(snapshot_account(DAY, 5, **account_overrides), channel, address, DAY)


@pytest.mark.parametrize(
    ("flag", "rule"),
    [
        ("bankruptcy", "bk.automatic_stay"),
        ("dispute", "regf.dispute_hold"),
        ("paid_in_full", "acct.paid_in_full"),
        ("cease_and_desist", "regf.cease"),
        ("deceased", "acct.deceased"),
        ("attorney", "regf.attorney"),
        ("legal_hold", "acct.legal_hold"),
    ],
)
def test_account_holds_block_every_channel_with_their_rule(flag, rule):
    for channel in ("sms", "email", "voice", "agent_queue"):
        decision = decide(request(channel, flags=flag))
        assert decision.outcome == "block"
        assert decision.rule_ids == (rule,)


def test_several_holds_are_all_named():
    decision = decide(request(flags="bankruptcy|dispute"))
    assert set(decision.rule_ids) == {"bk.automatic_stay", "regf.dispute_hold"}
    assert "bankruptcy" in decision.reason and "disputed" in decision.reason


def test_every_rule_cited_is_in_the_rule_table():
    decisions = [
        decide(request(flags="bankruptcy|dispute|paid_in_full")),
        decide(request(consent_sms=False)),
        decide(request()),
        decide(request("email", None)),
    ]
    for decision in decisions:
        assert all(rule in RULES for rule in decision.rule_ids)


def test_automated_texts_and_calls_need_consent_but_the_agent_queue_does_not():
    assert decide(request("sms", consent_sms=False)).rule_ids == ("tcpa.consent",)
    assert decide(request("voice", consent_voice=False)).rule_ids == ("tcpa.consent",)
    assert decide(request("agent_queue", None, consent_voice=False, consent_sms=False)).outcome == "send"


def test_third_party_collectors_may_not_text():
    assert decide(request(collector_type="third_party")).rule_ids == ("twilio.no_third_party_collection",)


def test_no_contact_point_is_a_reasoned_block():
    decision = decide(request("email", None))
    assert decision.rule_ids == ("contact.missing",)
    assert decision.reason == "no email contact point on file"


def test_suppression_matching_channel_and_address_blocks():
    suppression = {
        "channel": "sms",
        "address": "+12125550142",
        "reason": "electronic_address_opt_out",
        "source": "sms_keyword",
    }
    decision = decide(request(), suppressions=[suppression])
    assert decision.rule_ids == ("ledger.suppression",)
    assert "+1******0142" in decision.reason and "5550142" not in decision.reason
    assert decide(request("email", "jane.doe@example.com"), suppressions=[suppression]).outcome == "send"


def test_window_is_the_intersection_of_every_zone_on_file():
    # A New York mobile and a Los Angeles home phone: 11:00-21:00 Eastern.
    decision = decide(request("voice", home_phone="+13105550111"))
    assert decision.window_start == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert decision.window_end == datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def test_a_stated_timezone_overrides_phone_numbers():
    decision = decide(request(stated_timezone="America/Denver"))
    assert decision.zones == ("America/Denver",)
    assert decision.window_start == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_daylight_saving_moves_the_window_in_utc():
    before = allowed_window(["America/New_York"], date(2026, 3, 6), time(8), time(21))
    after = allowed_window(["America/New_York"], date(2026, 3, 9), time(8), time(21))
    assert before[0].hour == 13 and after[0].hour == 12


def test_china_window_runs_to_22_local():
    account = dict(country="CN", mobile_phone="+8613812345678", currency="CNY", locale="zh-CN")
    decision = decide(request(address="+8613812345678", **account))
    assert decision.rule_ids == ("cn.window",)
    assert decision.window_start == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert decision.window_end == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_toll_free_numbers_say_nothing_about_location():
    assert candidate_zones(None, ["+18005550123", "+12125550142"], "US") == ("America/New_York",)


def test_zones_with_no_common_hours_go_to_a_person():
    decision = decide(request(stated_timezone=None, mobile_phone="+12125550142", home_phone="+8613812345678"))
    assert decision.outcome == "review"
    assert decision.rule_ids == ("tz.review",)


def test_electronic_caps_count_history_on_calendar_days():
    today = [{"channel": "sms", "business_date": DAY}]
    assert decide(request(), history=today).rule_ids == ("soft.sms_cap",)
    week = [{"channel": "sms", "business_date": date(2026, 11, d)} for d in (14, 16, 18)]
    assert decide(request(), history=week).rule_ids == ("soft.sms_cap",)
    old = [{"channel": "sms", "business_date": date(2026, 11, d)} for d in (10, 12, 13)]
    assert decide(request(), history=old).outcome == "send"


def test_an_eighth_call_in_seven_days_is_blocked():
    calls = [{"channel": "voice", "business_date": date(2026, 11, d)} for d in range(14, 21)]
    assert decide(request("voice"), history=calls).rule_ids == ("regf.7in7",)
    assert decide(request("voice"), history=calls[1:]).outcome == "send"
