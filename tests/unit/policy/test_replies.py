"""Inbound replies: keywords carriers know, and the phrases they do not."""

import pytest

from outreach.policy import decide
from outreach.policy.replies import classify, effects
from tests.unit.policy.builders import NY_MOBILE, ask, hold, utc

AT = utc("2026-11-18T16:58:00Z")


@pytest.mark.parametrize(
    "reply",
    [
        "STOP",
        "stop",
        "Stop.",
        "ＳＴＯＰ",
        " unsubscribe ",
        "CANCEL",
        "end",
        "quit",
        "REVOKE",
        "optout",
        "opt out",
        "stop all",
        "STOPALL",
        "alto",
        "parar",
        "cancelar",
        "baja",
        "退订",
        "TD",
        "取消",
        "停止",
        "拒收",
        "Quit!! 🙏",
    ],
)
def test_exact_opt_out_keywords_in_english_spanish_and_chinese(reply):
    assert classify(reply) == "opt_out"


@pytest.mark.parametrize(
    ("reply", "intent"),
    [
        ("please stop texting me", "opt_out"),
        ("Stop please", "opt_out"),
        ("don't contact me again", "opt_out"),
        ("不要再发短信了", "opt_out"),
        ("stop calling me", "medium_opt_out_voice"),
        ("talk to my lawyer", "attorney"),
        ("I have an attorney", "attorney"),
        ("I dispute this", "dispute"),
        ("this is not my debt", "dispute"),
        ("I filed bankruptcy last week", "bankruptcy"),
        ("he passed away in March", "deceased"),
        ("START", "opt_in"),
        ("UNSTOP", "opt_in"),
        ("HELP", "help"),
        ("ok thanks, will pay friday", "none"),
    ],
)
def test_intent_phrases_twilio_does_not_catch(reply, intent):
    assert classify(reply) == intent


def test_stop_by_text_suppresses_that_number_for_texts_and_robocalls_at_once():
    effect = effects("STOP", "sms", NY_MOBILE, AT)
    reasons = {(s.reason, s.channel, s.address) for s in effect.add}
    assert reasons == {
        ("electronic_address_opt_out", "sms", NY_MOBILE),
        ("tcpa_revoked", "sms", NY_MOBILE),
        ("tcpa_revoked", "voice", NY_MOBILE),
    }
    assert all(s.effective_at == AT for s in effect.add)
    assert effect.confirm is True
    assert decide(ask("sms", at="2026-11-18T17:00:00Z", suppressions=list(effect.add))).decision == "block"
    assert decide(ask("voice", at="2026-11-18T17:00:00Z", suppressions=list(effect.add))).decision == "block"


def test_one_confirmation_within_five_minutes_and_no_more():
    from outreach.policy import ContactEvent

    holds = list(effects("STOP", "sms", NY_MOBILE, AT).add)
    first = ask("sms", at="2026-11-18T17:01:00Z", suppressions=holds, purpose="opt_out_confirmation")
    assert decide(first).decision == "send"
    sent = [
        ContactEvent(
            at=utc("2026-11-18T17:01:00Z"),
            channel="sms",
            kind="opt_out_confirmation",
            address=NY_MOBILE,
            purpose="opt_out_confirmation",
        )
    ]
    second = ask("sms", at="2026-11-18T17:02:00Z", suppressions=holds, history=sent, purpose="opt_out_confirmation")
    assert decide(second).rules == ("tcpa.confirmation_5min",)
    late = ask("sms", at="2026-11-18T17:10:00Z", suppressions=holds, purpose="opt_out_confirmation")
    assert decide(late).rules == ("tcpa.confirmation_5min",)


def test_start_reopens_texts_on_that_number_only_and_never_the_automated_calls():
    effect = effects("START", "sms", NY_MOBILE, AT)
    assert effect.add == ()
    assert set(effect.lift) == {("electronic_address_opt_out", "sms", NY_MOBILE), ("tcpa_revoked", "sms", NY_MOBILE)}
    assert not any(reason in {"cease_and_desist", "dispute", "bankruptcy", "attorney"} for reason, _, _ in effect.lift)
    # What a STOP wrote, less what the START lifts: texts may go again, robocalls still may not.
    lifted = {(reason, channel) for reason, channel, _ in effect.lift}
    left = [s for s in effects("STOP", "sms", NY_MOBILE, AT).add if (s.reason, s.channel) not in lifted]
    assert decide(ask("sms", at="2026-11-18T17:00:00Z", suppressions=left)).decision == "send"
    call = decide(ask("voice", at="2026-11-18T17:00:00Z", suppressions=left))
    assert call.decision == "block" and "tcpa.revocation" in call.rules


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("talk to my lawyer", "attorney"),
        ("I dispute this", "dispute"),
        ("I filed bankruptcy", "bankruptcy"),
        ("she passed away", "deceased"),
    ],
)
def test_intents_that_route_to_people_hold_the_whole_account(reply, reason):
    effect = effects(reply, "sms", NY_MOBILE, AT)
    (suppression,) = effect.add
    assert (suppression.reason, suppression.channel, suppression.address) == (reason, None, None)
    assert effect.routing
    assert decide(ask("email", at="2026-11-18T17:00:00Z", suppressions=list(effect.add))).decision == "block"


def test_to_a_toll_free_number_the_carrier_confirms_a_stop_and_only_start_or_unstop_resubscribe():
    stop = effects("STOP", "sms", NY_MOBILE, AT, sender_type="toll_free")
    assert stop.add and not stop.confirm, "the carrier sent its own confirmation"
    assert effects("STOP", "sms", NY_MOBILE, AT, sender_type="long_code").confirm
    assert effects("YES", "sms", NY_MOBILE, AT, sender_type="toll_free").lift == ()
    assert effects("YES", "sms", NY_MOBILE, AT, sender_type="long_code").lift
    for word in ("START", "unstop"):
        assert effects(word, "sms", NY_MOBILE, AT, sender_type="toll_free").lift, word


def test_a_confirmation_of_our_own_from_a_toll_free_number_is_refused():
    stopped = [hold("tcpa_revoked", at="2026-11-18T16:58:00Z", channel="sms", address=NY_MOBILE)]
    common = dict(at="2026-11-18T17:00:00Z", purpose="opt_out_confirmation", suppressions=stopped)
    assert decide(ask("sms", sender_type="long_code", **common)).decision == "send"
    refused = decide(ask("sms", sender_type="toll_free", **common))
    assert refused.decision == "block" and refused.rules == ("tcpa.confirmation_5min",)
    assert "carrier confirms" in refused.reason_text()


@pytest.mark.parametrize(
    "reply", ["Please call me", "call me back tomorrow", "could you call me after 5", "给我打电话"]
)
def test_a_request_to_be_called_is_understood(reply):
    assert classify(reply) == "call_request"


@pytest.mark.parametrize(
    "reply", ["don't call me", "Never call me again", "I told you not to call me", "don't ever call me", "stop calling"]
)
def test_a_refusal_of_calls_is_never_read_as_a_request_for_one(reply):
    assert classify(reply) == "medium_opt_out_voice"


@pytest.mark.parametrize("reply", ["why did you call me", "I'll call back tomorrow", "I will call you"])
def test_words_about_calls_that_ask_for_none_are_not_consent(reply):
    assert classify(reply) == "none"
