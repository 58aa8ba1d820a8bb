"""Frequency caps counted from the contact history, on the consumer's calendar days."""

from outreach.policy import ContactEvent, decide
from outreach.policy.model import Consent, Phone
from tests.unit.policy.builders import CN_MOBILE, NY_MOBILE, account, ask, call, text, utc

# Wednesday 2026-11-18, 12:00 in New York.
NOW = "2026-11-18T17:00:00Z"


def calls_on(days, outcome="unknown"):
    return [call(f"2026-11-{d:02d}T16:00:00Z", outcome) for d in days]


def test_seven_calls_in_seven_days_is_the_limit_and_the_eighth_waits():
    six = calls_on([12, 13, 14, 16, 17, 18])
    assert decide(ask("voice", at=NOW, history=six)).decision == "send"
    seven = calls_on([12, 13, 14, 15, 16, 17, 18])
    decision = decide(ask("voice", at=NOW, history=seven))
    assert decision.decision == "defer" and "regf.7in7" in decision.rules
    # The call of the 12th leaves the 7-day window on the 19th.
    assert decision.not_before == utc("2026-11-19T13:00:00Z")


def test_the_seven_days_are_calendar_days_in_the_consumer_zone():
    # 03:00 UTC on the 12th is still the 11th in New York: outside the window ending on the 18th.
    history = [call("2026-11-12T03:00:00Z")] + calls_on([13, 14, 15, 16, 17, 18])
    assert decide(ask("voice", at=NOW, history=history)).decision == "send"


def test_calls_that_never_connected_do_not_count():
    history = calls_on([12, 13, 14, 15, 16, 17]) + calls_on([18], outcome="not_connected")
    assert decide(ask("voice", at=NOW, history=history)).decision == "send"


def test_a_busy_signal_is_a_call_that_never_connected():
    # 12 CFR 1006.14(b)(3): a call that does not connect (busy signal, network error) is not counted.
    history = calls_on([12, 13, 14, 15, 16, 17]) + calls_on([18], outcome="busy")
    assert decide(ask("voice", at=NOW, history=history)).decision == "send"
    answered_by_no_one = calls_on([12, 13, 14, 15, 16, 17]) + calls_on([18], outcome="no_answer")
    assert decide(ask("voice", at=NOW, history=answered_by_no_one)).decision == "defer", "it rang: it counts"


def test_no_call_for_seven_days_after_a_conversation_day_one_being_its_date():
    talked = [call("2026-11-12T16:00:00Z", "connected", kind="conversation")]
    on_day_7 = decide(ask("voice", at="2026-11-18T17:00:00Z", history=talked))
    assert on_day_7.decision == "defer" and "regf.post_conversation" in on_day_7.rules
    assert on_day_7.not_before == utc("2026-11-19T13:00:00Z")
    assert decide(ask("voice", at="2026-11-19T17:00:00Z", history=talked)).decision == "send"
    assert decide(ask("sms", at="2026-11-18T17:00:00Z", history=talked)).decision == "send"


def test_no_two_call_attempts_to_one_number_within_five_minutes():
    decision = decide(ask("voice", at=NOW, history=[call("2026-11-18T16:57:00Z")]))
    assert decision.decision == "defer" and decision.not_before == utc("2026-11-18T17:02:00Z")
    assert "soft.rapid_redial" in decision.rules


def test_one_text_a_day_and_three_a_week():
    daily = decide(ask("sms", at=NOW, history=[text("2026-11-18T14:00:00Z")]))
    assert daily.rules[0] == "soft.sms_daily" and daily.not_before == utc("2026-11-19T13:00:00Z")
    three = [text(f"2026-11-{d}T14:00:00Z") for d in (13, 15, 17)]
    decision = decide(ask("sms", at=NOW, history=three))
    assert decision.rules[0] == "soft.sms_weekly" and decision.not_before == utc("2026-11-20T13:00:00Z")


def test_massachusetts_allows_two_calls_or_texts_a_week():
    facts = account(region="MA", phones=[Phone(number="+16175550100", type="mobile")])
    history = [
        ContactEvent(at=utc("2026-11-16T15:00:00Z"), channel="sms"),
        ContactEvent(at=utc("2026-11-17T15:00:00Z"), channel="voice"),
    ]
    decision = decide(ask("voice", address="+16175550100", at=NOW, account=facts, history=history))
    assert decision.decision == "defer" and "ma.2per7" in decision.rules
    assert decide(ask("voice", at=NOW, history=history)).decision == "send"  # the same in New York


def test_washington_caps_collection_agencies_not_first_party_creditors():
    facts = dict(region="WA", phones=[Phone(number="+12065550100")])
    history = [ContactEvent(at=utc(f"2026-11-{d}T18:00:00Z"), channel="email") for d in (14, 15, 16)]
    agency = account(collector_type="third_party", validation_notice_at=utc("2026-11-14T18:00:00Z"), **facts)
    assert "wa.3per7" in decide(ask("email", account=agency, history=history)).rules
    bank = account(**facts)
    assert "wa.3per7" not in decide(ask("email", account=bank, history=history)).rules


def test_new_york_city_rule_ships_switched_off():
    facts = account(postal_code="10001")
    history = [ContactEvent(at=utc(f"2026-11-{d}T18:00:00Z"), channel="email") for d in (14, 15, 16)]
    decision = decide(ask("voice", at=NOW, account=facts, history=history))
    assert decision.decision == "send"
    assert "nyc.3per7" not in {entry.rule for entry in decision.trace}


def test_china_six_unanswered_dials_a_day_per_number():
    facts = account(country="CN", region="BJ", phones=[Phone(number=CN_MOBILE, type="mobile")])
    dials = [call(f"2026-11-18T0{h}:00:00Z", "no_answer", address=CN_MOBILE) for h in range(1, 7)]
    decision = decide(ask("voice", address=CN_MOBILE, at="2026-11-18T08:00:00Z", account=facts, history=dials))
    assert decision.decision == "defer" and "cn.unanswered_dials" in decision.rules
    assert decision.not_before == utc("2026-11-19T00:00:00Z")  # 08:00 the next day in Shanghai


def test_china_three_connected_calls_a_day():
    facts = account(country="CN", region="BJ", phones=[Phone(number=CN_MOBILE, type="mobile")])
    talks = [call(f"2026-11-18T0{h}:00:00Z", "connected", address=CN_MOBILE) for h in (1, 3, 5)]
    decision = decide(ask("voice", address=CN_MOBILE, at="2026-11-18T08:00:00Z", account=facts, history=talks))
    assert "cn.connected_calls" in decision.rules


def test_deferral_settles_where_every_rule_allows_it():
    # Friday 22:00 in New York after a week of calls: the cap lifts at midnight, Saturday 08:00 opens.
    history = calls_on([14, 15, 16, 17, 18, 19, 20])
    decision = decide(ask("voice", at="2026-11-21T03:00:00Z", history=history))
    assert decision.decision == "defer"
    assert decision.not_before == utc("2026-11-21T13:00:00Z")
    # Once there, the same question is a send.
    assert decide(ask("voice", at="2026-11-21T13:00:00Z", history=history)).decision == "send"


def test_a_contact_that_can_never_happen_is_blocked_not_deferred_forever():
    talked = [
        ContactEvent(
            at=utc("2026-11-18T15:00:00Z"), channel="voice", kind="conversation", outcome="connected", address=NY_MOBILE
        )
    ]
    # A business setting of a 30-day blackout would push the call past the 14-day horizon.
    from outreach.policy import load_rules

    rules = load_rules().tightened({"rules": {"regf.post_conversation": {"params": {"days": 30}}}})
    decision = decide(ask("voice", at=NOW, history=talked), rules)
    assert decision.decision == "block" and decision.rules[0] == "policy.no_feasible_slot"


# -- one call, however the history writes it (US-7, MA-1) ----------------------------------


def voicemail_two_ways(day):
    """The same call reaching a voicemail, once as one row and once as an attempt plus its outcome."""
    one_row = [call(f"2026-11-{day}T15:00:00Z", "voicemail")]
    two_rows = [call(f"2026-11-{day}T15:00:00Z"), call(f"2026-11-{day}T15:00:40Z", kind="voicemail_left")]
    return one_row, two_rows


def test_a_call_written_as_an_attempt_and_its_outcome_counts_once_toward_seven_in_seven():
    six_more = calls_on([12, 13, 14, 15, 16])
    for written in voicemail_two_ways(17):
        assert decide(ask("voice", at=NOW, history=six_more + written)).decision == "send", "6 calls, not 7"


def test_a_voicemail_counts_toward_the_voicemail_cap_however_it_is_written():
    for first, second in zip(voicemail_two_ways(16), voicemail_two_ways(17), strict=True):
        decision = decide(ask("voicemail", at=NOW, history=first + second))
        assert decision.decision == "defer" and "soft.voicemail_cap" in decision.rules


def test_a_call_that_connected_starts_the_seven_day_silence_however_it_is_written():
    for talked in (
        [call("2026-11-13T16:00:00Z", "connected")],
        [call("2026-11-13T16:00:00Z"), call("2026-11-13T16:05:00Z", kind="conversation")],
    ):
        decision = decide(ask("voice", at=NOW, history=talked))
        assert decision.decision == "defer" and "regf.post_conversation" in decision.rules


def test_an_outcome_row_long_after_an_attempt_is_a_call_of_its_own():
    history = calls_on([12, 13, 14, 15, 16, 17]) + [call("2026-11-17T19:00:00Z", kind="voicemail_left")]
    decision = decide(ask("voice", at=NOW, history=history))
    assert decision.decision == "defer" and "regf.7in7" in decision.rules


def test_calls_within_seven_days_of_the_consumers_direct_consent_are_not_counted():
    asked = Consent(scope="direct_call", address=NY_MOBILE, obtained_at=utc("2026-11-14T12:00:00Z"))
    seven = calls_on([12, 13, 14, 15, 16, 17, 18])
    consented = account(consents=[Consent(scope="tcpa_automated"), asked])
    assert decide(ask("voice", at=NOW, history=seven, account=consented)).decision == "send", "5 of 7 are exempt"
    assert decide(ask("voice", at=NOW, history=seven)).decision == "defer"
    # On the 21st the consent is 7 days old: calls from then on count again.
    later = seven + calls_on([21, 22, 23, 24, 25, 26, 27])
    decision = decide(ask("voice", at="2026-11-27T17:00:00Z", history=later, account=consented))
    assert decision.decision == "defer" and "regf.7in7" in decision.rules


def test_massachusetts_exempts_an_unanswered_call_only_where_no_message_could_be_left():
    number = "+16175550100"
    facts = account(region="MA", phones=[Phone(number=number, type="mobile")])

    def unanswered(day, could_leave):
        return ContactEvent(
            at=utc(f"2026-11-{day}T15:00:00Z"),
            channel="voice",
            outcome="no_answer",
            address=number,
            message_could_be_left=could_leave,
        )

    rang_out = [unanswered(16, False), unanswered(17, False)]
    assert decide(ask("voice", address=number, at=NOW, account=facts, history=rang_out)).decision == "send"
    for could_leave in (True, None):
        chose_not_to = [unanswered(16, could_leave), unanswered(17, could_leave)]
        decision = decide(ask("voice", address=number, at=NOW, account=facts, history=chose_not_to))
        assert decision.decision == "defer" and "ma.2per7" in decision.rules, f"message_could_be_left={could_leave}"


def test_the_ledgers_unanswered_calls_are_ones_where_no_message_could_be_left():
    from outreach.policy.facts import contact_events

    rows = [
        {"at": utc("2026-11-16T15:00:00Z"), "channel": "voice", "outcome": outcome}
        for outcome in ("no_answer", "busy", "not_connected", "voicemail", "connected", None)
    ]
    assert [e.message_could_be_left for e in contact_events(rows)] == [False, False, False, True, True, None]


def test_an_outcome_row_never_joins_an_attempt_that_already_ended_otherwise():
    # Six calls that rang out, then a voicemail written on its own half an hour after the last: seven calls.
    history = calls_on([12, 13, 14, 15, 16, 17], "no_answer") + [call("2026-11-17T16:30:00Z", kind="voicemail_left")]
    decision = decide(ask("voice", at=NOW, history=history))
    assert decision.decision == "defer" and "regf.7in7" in decision.rules
