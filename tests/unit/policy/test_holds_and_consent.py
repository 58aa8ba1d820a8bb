"""Who may not be contacted, and what may still be sent to them."""

import pytest

from outreach.policy import decide
from outreach.policy.model import Consent, Phone
from tests.unit.policy.builders import NY_MOBILE, account, ask, hold, utc


@pytest.mark.parametrize(
    ("reason", "rule"),
    [
        ("bankruptcy", "bk.automatic_stay"),
        ("deceased", "acct.deceased"),
        ("cease_and_desist", "regf.cease"),
        ("dispute", "regf.dispute_hold"),
        ("attorney", "regf.attorney"),
        ("legal_hold", "acct.legal_hold"),
        ("paid_in_full", "acct.paid_in_full"),
        ("fraud_identity_theft", "acct.fraud"),
    ],
)
def test_an_account_hold_blocks_every_channel_including_hand_offs(reason, rule):
    for channel in ("sms", "email", "voice", "agent_queue", "letter"):
        decision = decide(ask(channel, account=account(flags=[reason])))
        assert decision.decision == "block", channel
        assert decision.rules == (rule,)


@pytest.mark.parametrize(
    ("reason", "allowed", "still_blocked"),
    [
        ("cease_and_desist", ["cease_ack", "remedy_notice"], ["collection", "verification"]),
        ("dispute", ["verification"], ["collection", "receipt"]),
        ("paid_in_full", ["receipt"], ["collection"]),
        ("bankruptcy", [], ["collection", "receipt", "verification"]),
    ],
)
def test_each_hold_lets_through_only_its_allowed_purposes(reason, allowed, still_blocked):
    facts = account(flags=[reason])
    for purpose in allowed:
        assert decide(ask("letter", address=None, account=facts, purpose=purpose)).decision == "send", purpose
    for purpose in still_blocked:
        assert decide(ask("letter", address=None, account=facts, purpose=purpose)).decision == "block", purpose


def test_a_hold_lifted_before_the_contact_no_longer_applies():
    lifted = hold("dispute", lifted_at=utc("2026-11-10T00:00:00Z"))
    assert decide(ask(suppressions=[lifted])).decision == "send"
    assert decide(ask(at="2026-11-05T17:00:00Z", suppressions=[lifted])).decision == "block"


def test_an_address_opt_out_covers_that_address_on_that_channel_only():
    opt_out = hold("electronic_address_opt_out", channel="sms", address=NY_MOBILE)
    decision = decide(ask("sms", suppressions=[opt_out]))
    assert decision.rules == ("regf.optout",)
    assert "+1******0142" in decision.reason_text() and "5550142" not in decision.reason_text()
    other_phone = account(phones=[Phone(number=NY_MOBILE), Phone(number="+12125550199")])
    assert decide(ask("sms", address="+12125550199", account=other_phone, suppressions=[opt_out])).decision == "send"
    assert decide(ask("voice", suppressions=[opt_out])).decision == "send"


def test_tcpa_revocation_stops_automated_calls_but_not_a_live_agent():
    revoked = hold("tcpa_revoked", address=NY_MOBILE)
    assert decide(ask("voice", suppressions=[revoked])).rules == ("tcpa.revocation",)
    assert decide(ask("voice", suppressions=[revoked], delivery_mode="live_agent")).decision == "send"


def test_a_medium_opt_out_covers_every_address_on_that_channel():
    no_calls = hold("medium_opt_out", channel="voice")
    assert decide(ask("voice", suppressions=[no_calls])).rules == ("regf.medium_optout",)
    assert decide(ask("sms", suppressions=[no_calls])).decision == "send"


@pytest.mark.parametrize("detail", ["21610", "hard_bounce", "spam_report"])
def test_provider_blocks_are_permanent_holds_on_that_address(detail):
    block = hold("provider_block", channel="email", address="jane@example.com", detail=detail)
    decision = decide(ask("email", suppressions=[block]))
    assert decision.rules == ("provider.block",) and detail in decision.reason_text()


def test_automated_calls_and_texts_need_consent_live_agents_do_not():
    no_consent = account(consents=[Consent(scope="email")])
    assert decide(ask("sms", account=no_consent)).rules == ("tcpa.consent",)
    assert decide(ask("voice", account=no_consent)).rules == ("tcpa.consent",)
    assert decide(ask("voice", account=no_consent, delivery_mode="live_agent")).decision == "send"


def test_a_revoked_or_future_consent_is_no_consent():
    revoked = account(consents=[Consent(scope="tcpa_automated", revoked_at=utc("2026-11-01T00:00:00Z"))])
    assert decide(ask("sms", account=revoked)).rules == ("tcpa.consent",)
    later = account(consents=[Consent(scope="tcpa_automated", obtained_at=utc("2026-12-01T00:00:00Z"))])
    assert decide(ask("sms", account=later)).rules == ("tcpa.consent",)


def test_consent_for_one_number_does_not_cover_another():
    facts = account(consents=[Consent(scope="tcpa_automated", address="+12125550199")])
    assert decide(ask("sms", account=facts)).rules == ("tcpa.consent",)


def test_email_needs_provenance():
    facts = account(consents=[Consent(scope="tcpa_automated")])
    assert decide(ask("email", account=facts)).rules == ("email.provenance",)


def test_no_contact_point_is_a_reasoned_block():
    decision = decide(ask("sms", address=None))
    assert decision.rules == ("contact.missing",) and decision.reasons == ("no sms contact point on file",)


def test_third_party_collectors_may_not_text_through_twilio():
    decision = decide(ask("sms", account=account(collector_type="third_party")))
    assert "twilio.no_third_party_collection" in decision.rules


def test_several_holds_are_all_named():
    decision = decide(ask(account=account(flags=["bankruptcy", "dispute"])))
    assert set(decision.rules) == {"bk.automatic_stay", "regf.dispute_hold"}
