"""What a message may say, and configurations refused before anything is sent."""

import pytest
from jinja2 import Environment

from outreach.policy import decide
from outreach.policy.configuration import ConfigurationRefused, check_deployment
from outreach.policy.model import TemplateTraits
from outreach.template_checks import check_all_templates, check_template, require_clean_templates
from tests.unit.policy.builders import account, ask

ENV = Environment()


def test_every_shipped_template_passes_its_checks():
    reports = require_clean_templates()
    assert {
        "sms/reminder.en.j2",
        "email/past_due.zh-CN.j2",
        "voicemail/lcm.en.j2",
        "letter/collection_notice.zh-CN.j2",
    } <= set(reports)


def test_a_text_without_an_opt_out_is_refused_at_load_time():
    report = check_template("sms", "bare", "en", "{{ business_name }}: please pay {{ amount_due }}.", ENV)
    assert report.problems == ("no opt-out instruction (12 CFR 1006.6(e))",)
    assert report.traits.has_opt_out is False


def test_a_voicemail_that_mentions_the_debt_is_not_a_limited_content_message():
    report = check_template(
        "voicemail", "chatty", "en", "Hi {{ first_name }}, your payment of {{ amount_due }} is past due.", ENV
    )
    assert report.traits.is_limited_content is False and report.problems


def test_a_chinese_collection_letter_must_carry_every_required_field():
    report = check_template("letter", "short", "zh-CN", "{{ full_name }}：您欠款{{ amount_due }}。", ENV)
    (problem,) = report.problems
    assert "objection method" in problem and "seal" in problem


def test_legal_threats_are_found_and_blocked_only_on_time_barred_debt():
    report = check_template("sms", "threat", "en", "Pay or we will sue. Reply STOP to stop texts.", ENV)
    assert report.traits.legal_threat_words == ("sue",) and report.problems == ()
    threat = TemplateTraits(name="sms/threat.en.j2", legal_threat_words=("sue",))
    assert decide(ask(template=threat, account=account(time_barred=True))).rules == ("regf.time_barred",)
    assert decide(ask(template=threat)).decision == "send"


def test_the_engine_blocks_a_text_whose_template_has_no_opt_out():
    bare = TemplateTraits(name="sms/bare.en.j2", has_opt_out=False)
    assert decide(ask(template=bare)).rules == ("regf.optout_notice",)


def test_shipped_templates_are_checked_with_their_words_found():
    traits = check_all_templates()["letter/collection_notice.zh-CN.j2"].traits
    assert traits.legal_threat_words == ()


def test_a_third_party_collector_sending_texts_through_twilio_is_refused_at_start_up():
    with pytest.raises(ConfigurationRefused, match="Twilio forbids third-party debt collection over SMS"):
        check_deployment("third_party", "twilio", ["voice", "sms", "email"])
    check_deployment("third_party", "twilio", ["voice", "email"])
    check_deployment("first_party", "twilio", ["sms"])


def test_sms_templates_are_sized_in_segments_and_capped():
    reports = check_all_templates()
    english, chinese = reports["sms/reminder.en.j2"], reports["sms/reminder.zh-CN.j2"]
    assert (english.encoding, chinese.encoding) == ("GSM-7", "UCS-2")
    assert 1 <= english.segments <= 3 and 1 <= chinese.segments <= 3
    long = check_template("sms", "long", "en", "{{ business_name }} " + "x" * 600 + " Reply STOP to stop.", ENV)
    assert long.segments == 5 and "the cap is 3" in long.problems[0]
