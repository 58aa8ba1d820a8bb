"""Who a contact is with (debtor, guarantor, attorney, estate, a third party) and who makes it."""

from datetime import timedelta

import pytest

from outreach.policy import ContactEvent, decide
from outreach.policy.model import CollectingAgency, Consent, NumberCheck, Phone
from tests.unit.policy.builders import CN_MOBILE, NY_MOBILE, account, ask, hold, utc

ATTORNEY_LETTER = "2026-10-05T15:00:00Z"
OTHER_NUMBER = "+12125550199"


def to_attorney(at: str = ATTORNEY_LETTER) -> ContactEvent:
    return ContactEvent(at=utc(at), channel="letter", recipient="attorney")


def test_an_attorney_hold_stops_contact_with_the_debtor_not_with_the_attorney():
    represented = [hold("attorney", at="2026-10-01T00:00:00Z")]
    debtor = decide(ask("sms", suppressions=represented))
    assert debtor.decision == "block" and debtor.rules == ("regf.attorney",)
    attorney = decide(ask("email", address="counsel@example.com", recipient="attorney", suppressions=represented))
    assert attorney.decision == "send"


def test_an_attorney_who_does_not_answer_within_the_reasonable_time_lets_contact_resume():
    represented = [hold("attorney", at="2026-10-01T00:00:00Z")]
    # 30 days after our letter to the attorney, with no answer: the debtor may be contacted.
    at_29_days = (utc(ATTORNEY_LETTER) + timedelta(days=29)).isoformat()
    at_30_days = (utc(ATTORNEY_LETTER) + timedelta(days=30, hours=2)).isoformat()
    early = decide(ask("email", at=at_29_days, history=[to_attorney()], suppressions=represented))
    assert early.decision == "block"
    resumed = decide(ask("email", at=at_30_days, history=[to_attorney()], suppressions=represented))
    assert resumed.decision == "send" and "regf.attorney" in resumed.rules
    assert "has not answered within 30 days" in resumed.reason_text()
    answered = [
        to_attorney(),
        ContactEvent(at=utc("2026-10-20T15:00:00Z"), channel="email", kind="inbound", recipient="attorney"),
    ]
    assert decide(ask("email", at=at_30_days, history=answered, suppressions=represented)).decision == "block"


def test_a_reply_from_where_the_attorney_was_reached_is_the_attorneys_answer():
    # The ledger records a reply with the address it came from, not who sent it.
    represented = [hold("attorney", at="2026-10-01T00:00:00Z")]
    texted = ContactEvent(at=utc(ATTORNEY_LETTER), channel="sms", recipient="attorney", address=OTHER_NUMBER)
    at_31_days = (utc(ATTORNEY_LETTER) + timedelta(days=31)).isoformat()

    def reply_from(number: str) -> ContactEvent:
        return ContactEvent(at=utc("2026-10-20T15:00:00Z"), channel="sms", kind="inbound", address=number)

    from_the_attorney = decide(
        ask("email", at=at_31_days, history=[texted, reply_from(OTHER_NUMBER)], suppressions=represented)
    )
    assert from_the_attorney.decision == "block"
    from_the_debtor = decide(
        ask("email", at=at_31_days, history=[texted, reply_from(NY_MOBILE)], suppressions=represented)
    )
    assert from_the_debtor.decision == "send", "the debtor's own text is not the attorney's answer"


def test_a_deceased_debtors_estate_may_be_contacted_but_not_the_debtor():
    deceased = [hold("deceased")]
    assert decide(ask("email", suppressions=deceased)).decision == "block"
    assert decide(ask("email", recipient="estate", suppressions=deceased)).decision == "send"


def test_a_third_party_may_only_be_asked_where_the_consumer_is_once_without_the_debt():
    def location_call(**kwargs):
        return ask("voice", address=OTHER_NUMBER, recipient="third_party", delivery_mode="live_agent", **kwargs)

    about_the_debt = decide(location_call())
    assert about_the_debt.decision == "block" and about_the_debt.rules == ("regf.third_party",)
    assert decide(location_call(purpose="location")).decision == "send"
    asked = ContactEvent(
        at=utc("2026-11-10T16:00:00Z"),
        channel="voice",
        recipient="third_party",
        purpose="location",
        address=OTHER_NUMBER,
    )
    again = decide(location_call(purpose="location", history=[asked]))
    assert again.decision == "block" and "already asked on 2026-11-10" in again.reason_text()


def test_calls_to_the_attorney_do_not_count_toward_the_debtors_seven_calls():
    attorney_calls = [
        ContactEvent(at=utc(f"2026-11-{d}T16:00:00Z"), channel="voice", recipient="attorney", address=OTHER_NUMBER)
        for d in (12, 13, 14, 15, 16, 17, 18)
    ]
    assert decide(ask("voice", history=attorney_calls)).decision == "send"


@pytest.mark.parametrize(
    ("recipient", "decision"),
    [
        ("debtor", "send"),
        ("guarantor", "send"),
        ("co_borrower", "block"),
        ("third_party", "block"),
        ("attorney", "block"),
    ],
)
def test_in_china_only_the_debtor_and_the_guarantor_are_collected_from(recipient, decision):
    cn = account(
        country="CN",
        region=None,
        phones=[Phone(number=CN_MOBILE, type="mobile")],
        consents=[Consent(scope="tcpa_automated")],
    )
    answer = decide(
        ask(
            "voice",
            address=CN_MOBILE,
            at="2026-11-18T03:00:00Z",
            account=cn,
            recipient=recipient,
            delivery_mode="live_agent",
        )
    )
    assert answer.decision == decision, answer.reasons


def test_in_china_an_agency_collects_only_when_listed_and_after_the_debtor_was_told():
    def agency_call(agency):
        facts = account(
            country="CN", region=None, collector_type="third_party", agency=agency, phones=[Phone(number=CN_MOBILE)]
        )
        return decide(
            ask("voice", address=CN_MOBILE, at="2026-11-18T03:00:00Z", account=facts, delivery_mode="live_agent")
        )

    told = utc("2026-11-10T03:00:00Z")
    assert agency_call(CollectingAgency(name="Listed Co", on_bank_list=True, debtor_told_at=told)).decision == "send"
    unlisted = agency_call(CollectingAgency(name="Rogue Co", on_bank_list=False, debtor_told_at=told))
    assert unlisted.decision == "block" and "not on the bank's list" in unlisted.reason_text()
    untold = agency_call(CollectingAgency(name="Listed Co", on_bank_list=True))
    assert untold.decision == "block" and "has not been told" in untold.reason_text()
    told_later = agency_call(
        CollectingAgency(name="Listed Co", on_bank_list=True, debtor_told_at=utc("2026-11-19T00:00:00Z"))
    )
    assert told_later.decision == "block"
    assert agency_call(None).decision == "block"


def test_twilio_refuses_third_party_collection_texts_but_another_provider_may_carry_them():
    agency = account(collector_type="third_party", validation_notice_at=utc("2026-11-01T00:00:00Z"))
    assert decide(ask("sms", account=agency)).rules == ("twilio.no_third_party_collection",)
    assert decide(ask("sms", account=agency, provider="twilio")).decision == "block"
    checked = [NumberCheck(number=NY_MOBILE, checked_at=utc("2026-11-01T12:00:00Z"), answer="no")]
    other = decide(ask("sms", account=agency, provider="other-aggregator", number_checks=checked))
    assert other.decision == "send"


def test_a_debt_collector_gives_the_validation_notice_within_five_days_of_the_first_communication():
    buyer = account(collector_type="debt_buyer")
    first = ContactEvent(
        at=utc("2026-11-13T15:00:00Z"), channel="email", outcome="delivered", address="jane@example.com"
    )
    within = decide(ask("email", at="2026-11-18T14:00:00Z", history=[first], account=buyer))
    assert within.decision == "send" and "validation notice due by 2026-11-18 15:00 UTC" in within.reason_text()
    late = decide(ask("email", at="2026-11-18T16:00:00Z", history=[first], account=buyer))
    assert late.decision == "block" and late.rules == ("regf.validation_notice",)
    notice = decide(
        ask("email", at="2026-11-18T16:00:00Z", history=[first], account=buyer, purpose="validation_notice")
    )
    assert notice.decision == "send", "the notice itself may still go"
    given = account(collector_type="debt_buyer", validation_notice_at=utc("2026-11-13T15:00:00Z"))
    assert decide(ask("email", at="2026-11-18T16:00:00Z", history=[first], account=given)).decision == "send"
    lost = first.model_copy(update={"outcome": "bounced"})
    assert decide(ask("email", at="2026-11-18T16:00:00Z", history=[lost], account=buyer)).decision == "send"
    assert decide(ask("email", at="2026-11-18T16:00:00Z", history=[first])).decision == "send", "a bank's own"


def test_in_china_a_call_is_recorded_and_kept_two_years_and_one_that_would_not_be_is_refused():
    from outreach.policy.engine import recording_retention_days

    cn = account(country="CN", region=None, phones=[Phone(number=CN_MOBILE, type="mobile")])
    call = ask("voice", address=CN_MOBILE, at="2026-11-18T03:00:00Z", account=cn, delivery_mode="live_agent")
    assert recording_retention_days(call) == 730 and recording_retention_days(ask("voice")) is None
    assert "kept 730 days" in decide(call).reason_text()
    unrecorded = decide(call.model_copy(update={"recorded": False}))
    assert unrecorded.decision == "block" and unrecorded.rules == ("cn.call_recording",)


def check(answer: str, at: str = "2026-11-01T12:00:00Z") -> NumberCheck:
    return NumberCheck(number=NY_MOBILE, checked_at=utc(at), answer=answer)


def test_a_number_the_database_reports_reassigned_is_not_texted_or_autodialled():
    for channel in ("sms", "voice"):
        refused = decide(ask(channel, number_checks=[check("yes")]))
        assert refused.decision == "block" and refused.rules == ("tcpa.reassigned_number",), channel
        assert "confirm the number with the consumer" in refused.reason_text()
    assert decide(ask("voice", delivery_mode="live_agent", number_checks=[check("yes")])).decision == "send"
    # Asked again about a later date, the database says only that it was not disconnected again: still held.
    again = [check("yes"), check("no", at="2026-11-10T12:00:00Z")]
    assert decide(ask("sms", number_checks=again)).decision == "block"
    # The consumer texting from the number after the answer confirms it is theirs.
    confirmed = ContactEvent(at=utc("2026-11-05T15:00:00Z"), channel="sms", kind="inbound", address=NY_MOBILE)
    assert decide(ask("sms", number_checks=again, history=[confirmed])).decision == "send"


def test_a_debt_collector_texts_only_with_a_recent_text_from_the_number_or_a_fresh_not_reassigned_answer():
    buyer = account(collector_type="debt_buyer", validation_notice_at=utc("2026-11-01T00:00:00Z"))

    def text(**kwargs):
        return decide(ask("sms", account=buyer, provider="other-aggregator", **kwargs))

    nothing = text()
    assert nothing.decision == "review" and nothing.rules == ("regf.text_safe_harbour",)
    assert "no Reassigned Numbers Database answer within 60 days" in nothing.reason_text()
    assert text(number_checks=[check("no")]).decision == "send"
    assert text(number_checks=[check("no", at="2026-09-01T12:00:00Z")]).decision == "review", "older than 60 days"
    assert text(number_checks=[check("no_data")]).decision == "review"
    their_text = ContactEvent(at=utc("2026-10-01T15:00:00Z"), channel="sms", kind="inbound", address=NY_MOBILE)
    assert text(history=[their_text]).decision == "send", "the consumer texted from it 48 days ago"
    assert decide(ask("sms", number_checks=[])).decision == "send", "a bank's own texts rest on its consent"


def test_an_attorneys_silence_counts_only_from_a_contact_that_reached_them_after_the_hold():
    represented = [hold("attorney", at="2026-11-01T00:00:00Z")]
    before_the_hold = to_attorney("2026-08-01T15:00:00Z")
    assert decide(ask("sms", history=[before_the_hold], suppressions=represented)).decision == "block"
    bounced = ContactEvent(at=utc("2026-10-05T15:00:00Z"), channel="email", outcome="bounced", recipient="attorney")
    late = dict(at="2026-12-10T17:00:00Z", suppressions=[hold("attorney", at="2026-10-01T00:00:00Z")])
    assert decide(ask("sms", history=[bounced], **late)).decision == "block", "a lost email reached no one"
    talked = ContactEvent(at=utc("2026-10-20T15:00:00Z"), channel="voice", kind="conversation", recipient="attorney")
    assert decide(ask("sms", history=[to_attorney(), talked], **late)).decision == "block", "a conversation answers"
    assert decide(ask("sms", history=[to_attorney()], **late)).decision == "send"


def test_an_attorney_hold_also_stops_asking_third_parties_where_the_consumer_is():
    represented = [hold("attorney", at="2026-10-01T00:00:00Z")]
    location = ask(
        "voice",
        address=OTHER_NUMBER,
        recipient="third_party",
        purpose="location",
        delivery_mode="live_agent",
        suppressions=represented,
    )
    assert decide(location).rules == ("regf.attorney",)
