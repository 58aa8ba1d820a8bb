import itertools
from datetime import date

import pytest

from outreach.campaigns import load_campaigns
from outreach.messages import Renderer, format_amount
from outreach.settings import SHIPPED_CAMPAIGNS
from tests.factories import snapshot_account

DAY = date(2026, 11, 20)
STAGES = sorted(
    {
        (channel, s.template)
        for campaign in load_campaigns(SHIPPED_CAMPAIGNS)
        for ladder in campaign.ladders().values()
        for s in ladder
        for channel in (*s.channels, *((s.fallback,) if s.fallback else ()))
        if s.template
    }
)


@pytest.mark.parametrize(("stage", "locale"), list(itertools.product(STAGES, ["en", "zh-CN"])))
def test_every_shipped_stage_renders_in_every_locale_with_its_disclosures(stage, locale):
    channel, template = stage
    account = snapshot_account(DAY, 12, locale=locale, name="Jane Doe")
    message = Renderer().render(channel, template, account)
    assert "12" in message.body
    if channel != "agent_queue":  # the agent note is for staff, not the debtor
        assert "Example Bank" in message.body
    if channel == "sms":
        assert ("Reply STOP" in message.body) if locale == "en" else ("回复TD退订" in message.body)
    if channel == "email":
        assert message.subject
        assert "/outreach/unsubscribe/" in message.body
    if channel == "voice":
        assert "9" in message.body  # keypress opt-out offered


def test_links_never_carry_the_account_number():
    account = snapshot_account(DAY, 3, account_id="AC12345678")
    body = Renderer().render("sms", "reminder", account).body
    assert "AC12345678" not in body and "ending 5678" in body


def test_amounts_are_exact_and_in_the_account_currency():
    assert format_amount(125050, "USD") == "$1,250.50"
    assert format_amount(100, "CNY") == "¥1.00"
    assert format_amount(1500, "JPY") == "¥1,500"


def test_segments_follow_gsm7_and_ucs2_sizes():
    from outreach.channels.segments import encoding, segment_count

    assert (segment_count("a" * 160), segment_count("a" * 161), segment_count("a" * 306)) == (1, 2, 2)
    assert segment_count("a" * 307) == 3
    assert segment_count("€" * 80) == 1 and segment_count("€" * 81) == 2  # extension characters count twice
    assert encoding("您好") == "UCS-2" and segment_count("您" * 70) == 1 and segment_count("您" * 71) == 2
