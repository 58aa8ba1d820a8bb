"""A dispatch whose sends are refused stops its day where ops look: the wave and the reason are
recorded, the report says why, and the run ends red (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from outreach import pipeline
from outreach.campaigns import load_campaign
from outreach.settings import SHIPPED_CAMPAIGNS
from outreach.waves import DispatchStopped, FailureAlarm
from tests.days import Book

DAY = date(2026, 11, 20)
CAMPAIGN = load_campaign(SHIPPED_CAMPAIGNS / "m1_self_service.yaml")


@pytest.fixture
def planned(ledger, settings_for, tmp_path, sandbox, monkeypatch):
    """Six New York debtors planned for texts and emails, sending through the sandbox."""
    book = Book(tmp_path / "accounts.csv")
    for n in range(6):
        book.add(f"AC-{n}", DAY - timedelta(days=5), mobile_phone=f"+1212555{n:04d}", email=f"d{n}@mail.test")
    settings = replace(settings_for(ledger, book.write()), channel_set="sandbox")
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", sandbox.url)
    ref = pipeline.segment(pipeline.pull(DAY, f"scheduled__{DAY}", settings), settings)
    return settings, pipeline.plan(ref, CAMPAIGN.id, settings)


def test_bad_credentials_stop_the_day_record_why_and_fail_the_report(planned, ledger, sandbox, monkeypatch):
    settings, ref = planned
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "rotated-yesterday")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.revoked")
    sandbox.configure(sendgrid_api_key="SG.current")

    with pytest.raises(DispatchStopped, match="refused our credentials"):
        pipeline.dispatch_wave(ref, CAMPAIGN.scheduled_at(DAY), settings=settings)

    (wave,) = ledger.waves(DAY).to_dict("records")
    assert wave["sent"] == 0 and wave["failed"] == 6
    assert "refused our credentials" in wave["stopped"] and "20003" in wave["stopped"]
    assert sandbox.accepted("twilio") == [] and sandbox.accepted("sendgrid") == []

    with pytest.raises(DispatchStopped, match="the report is written"):
        pipeline.report(ref, settings)
    report = (settings.reports_dir / f"{DAY}-{CAMPAIGN.id}.txt").read_text()
    assert "THE DISPATCH STOPPED" in report and "refused our credentials" in report


def test_a_good_wave_does_not_stop_the_day(planned, ledger):
    settings, ref = planned
    result = pipeline.dispatch_wave(ref, CAMPAIGN.scheduled_at(DAY), settings=settings)
    assert result["dispatch"]["sent"] == 6 and ledger.waves(DAY)["stopped"].isna().all()
    pipeline.report(ref, settings)


@pytest.mark.parametrize(
    ("sent", "failed", "codes", "stops"),
    [
        (75, 25, {"sms 21211": 25}, False),  # a quarter failing: at the alarm's edge, not past it
        (74, 26, {"sms 21211": 26}, True),
        (5, 10, {"sms 21211": 10}, False),  # too few sends to judge by share
        (999, 1, {"email 401": 1}, True),  # one refusal of our credentials is enough
    ],
)
def test_the_alarm_fires_past_its_share_or_on_any_authentication_refusal(sent, failed, codes, stops):
    reason = FailureAlarm(max_share=0.25, min_sends=20).reason(sent, failed, codes)
    assert (reason is not None) == stops
    if stops:
        assert next(iter(codes)) in reason
