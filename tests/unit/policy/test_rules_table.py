"""The rule table as data: complete, auditable, and impossible to loosen below the law."""

import pytest

from outreach.policy import PolicyConfigError, decide, load_rules
from outreach.policy.checks import CHECKS
from tests.unit.policy.builders import account, ask

RULES = load_rules()


def test_every_rule_has_a_citation_a_grade_and_a_known_kind():
    for rule in RULES.rules:
        assert rule.citation and rule.summary, rule.id
        assert rule.grade in {"P", "S", "U", "B"}, rule.id
        assert rule.kind in CHECKS, rule.id


def test_unverified_rules_ship_switched_off():
    assert all(not rule.enabled for rule in RULES.rules if rule.grade == "U")
    assert not RULES["nyc.3per7"].enabled and RULES["nyc.3per7"].grade == "U"


def test_profiles_apply_by_jurisdiction():
    assert "us_ma" in RULES.profiles_for(account(region="MA"))
    assert "us_wa" not in RULES.profiles_for(account(region="WA"))
    assert "us_wa" in RULES.profiles_for(account(region="WA", collector_type="debt_buyer"))
    assert "us_nyc" in RULES.profiles_for(account(postal_code="11201"))
    assert RULES.profiles_for(account(country="CN", region="BJ", phones=[])) == ["cn", "holds", "provider", "business"]


def test_every_decision_cites_only_rules_in_the_table():
    questions = [ask(account=account(flags=["bankruptcy"])), ask(at="2026-11-18T03:00:00Z"), ask("email", address=None)]
    for question in questions:
        assert all(rule_id in RULES for rule_id in decide(question).rules)


def test_business_settings_may_tighten_the_window():
    tightened = RULES.tightened({"rules": {"regf.window": {"params": {"start": "09:00", "end": "20:00"}}}})
    assert decide(ask(at="2026-11-18T13:30:00Z"), tightened).decision == "defer"  # 08:30 in New York
    assert decide(ask(at="2026-11-18T13:30:00Z"), RULES).decision == "send"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"regf.window": {"params": {"end": "22:00"}}}, "end=22:00 would loosen the law"),
        ({"regf.window": {"params": {"start": "07:30"}}}, "start=07:30 would loosen the law"),
        ({"regf.7in7": {"params": {"max": 8}}}, "max=8 would loosen the law"),
        ({"regf.post_conversation": {"params": {"days": 5}}}, "days=5 would loosen the law"),
        ({"regf.7in7": {"enabled": False}}, "cannot be switched off"),
        ({"regf.7in7": {"params": {"channels": ["sms"]}}}, "cannot be changed"),
        ({"no.such.rule": {"enabled": True}}, "unknown rule id"),
    ],
)
def test_business_settings_may_not_loosen_the_law(change, message):
    with pytest.raises(PolicyConfigError, match=message):
        RULES.tightened({"rules": change})


def test_business_rules_may_be_loosened_or_switched_off():
    loosened = RULES.tightened(
        {"rules": {"soft.sms_daily": {"params": {"max": 2}}, "soft.avoid_days": {"enabled": False}}}
    )
    assert loosened["soft.sms_daily"].params["max"] == 2 and not loosened["soft.avoid_days"].enabled


def test_an_unverified_rule_can_be_switched_on():
    assert RULES.tightened({"rules": {"nyc.3per7": {"enabled": True}}})["nyc.3per7"].enabled


def test_a_settings_file_is_read_and_checked(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("rules:\n  regf.window: {params: {end: '23:00'}}\n")
    with pytest.raises(PolicyConfigError, match=str(path)):
        load_rules(str(path))
