"""A campaign day in waves, at its real schedule time: each debtor is contacted inside their own
contact hours, nothing is left pending, and a day that is over sends nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from outreach import pipeline
from outreach.campaigns import load_campaign
from outreach.settings import SHIPPED_CAMPAIGNS
from tests.days import Book

DAY = date(2026, 11, 20)  # a Friday
CAMPAIGN = load_campaign(SHIPPED_CAMPAIGNS / "m1_self_service.yaml")
SCHEDULED = CAMPAIGN.scheduled_at(DAY)  # 09:00 in New York
DEBTORS = {
    # account: (its zone, the local hours a collection contact may go in)
    "AC-NY": ("America/New_York", (8, 21)),
    "AC-HNL": ("Pacific/Honolulu", (8, 21)),
    "AC-SHA": ("Asia/Shanghai", (8, 22)),
}


@pytest.fixture
def settings(ledger, settings_for, tmp_path):
    book = Book(tmp_path / "accounts.csv")
    first_due = DAY - timedelta(days=5)
    book.add("AC-NY", first_due, mobile_phone="+12125550142", region="NY", postal_code="10001")
    book.add(
        "AC-HNL", first_due, mobile_phone="+18085550142", region="HI", postal_code="96813", email="hnl@example.com"
    )
    book.add(
        "AC-SHA",
        first_due,
        mobile_phone="+8613812345678",
        country="CN",
        region="SH",
        postal_code="200000",
        locale="zh-CN",
        currency="CNY",
        email="sha@example.com",
    )
    return settings_for(ledger, book.write())


def planned_day(settings) -> dict:
    ref = pipeline.segment(pipeline.pull(DAY, f"scheduled__{DAY}", settings), settings)
    return pipeline.plan(ref, CAMPAIGN.id, settings)


def run_waves(ref: dict, settings, started_at: datetime) -> dict[str, datetime]:
    """Drive the day as the dispatch task does: a wave, then the next at its instant; when each account's step went."""
    ledger = pipeline.ledger_for(settings)
    sent_at: dict[str, datetime] = {}
    now = started_at
    for _ in range(48):
        cue = pipeline.next_wave(ref, settings)
        at = max(now, cue.due_at or now)
        result = pipeline.dispatch_wave(ref, at, wave=cue.number, due_at=cue.due_at, settings=settings)
        for step in ledger.steps(DAY, statuses=["sent"]).itertuples():
            sent_at.setdefault(step.account_id, at)
        if result["next_wave_at"] is None:
            return sent_at
        now = datetime.fromisoformat(result["next_wave_at"])
    pytest.fail("the day never ended")


def test_every_debtor_is_contacted_inside_their_own_hours_and_nothing_is_left_pending(settings):
    ref = planned_day(settings)
    sent_at = run_waves(ref, settings, SCHEDULED)

    assert set(sent_at) == set(DEBTORS), "every reachable debtor is contacted the same day"
    for account, (zone, (opens, closes)) in DEBTORS.items():
        local = sent_at[account].astimezone(ZoneInfo(zone))
        assert opens <= local.hour < closes, f"{account} contacted at {local:%H:%M} local"
    ledger = pipeline.ledger_for(settings)
    assert ledger.steps(DAY, statuses=["pending"]).empty
    waves = ledger.waves(DAY, CAMPAIGN.id)
    # 09:00 New York, then 08:00 in Honolulu (18:00 UTC), then 08:00 in Shanghai (00:00 UTC, still New York's Friday).
    assert [f"{at:%d %H:%M}" for at in waves["at"]] == ["20 14:00", "20 18:00", "21 00:00"]
    assert list(waves["sent"]) == [1, 1, 1]
    report = pipeline.report(ref, settings)
    text = Path(report["report_path"]).read_text(encoding="utf-8")
    assert "Planned steps: 3 = 0 held + 3 sent + 0 failed + 0 waiting + 0 expired" in text
    assert "2026-11-21 00:00 UTC  sent      1" in text
    # Debtors in three zones: no two steps are alike, and nothing was on file for any of them.
    assert "policy decisions: 3 shared by 3 class(es) of alike steps, 0 asked one by one" in text


def test_each_wave_asks_the_policy_again(settings):
    ref = planned_day(settings)
    ledger = pipeline.ledger_for(settings)
    first = pipeline.dispatch_wave(ref, SCHEDULED, settings=settings)
    assert first["next_wave_at"] == "2026-11-20T18:00:00+00:00"
    # The Shanghai debtor opts out of today's channel before their morning: the 00:00 UTC wave must not go.
    waiting = ledger.steps(DAY, statuses=["pending"]).query("account_id == 'AC-SHA'").iloc[0]
    ledger.add_suppression(
        account_id="AC-SHA",
        channel=waiting["channel"],
        address=waiting["contact_address"],
        reason="electronic_address_opt_out",
        source="inbound",
        effective_at=SCHEDULED + timedelta(hours=1),
    )
    run_waves(ref, settings, datetime.fromisoformat(first["next_wave_at"]))
    shanghai = ledger.steps(DAY).query("account_id == 'AC-SHA'").iloc[0]
    assert shanghai["status"] == "held" and "opted out" in shanghai["status_reason"]
    assert ledger.attempts_for(DAY).query("account_id == 'AC-SHA'").empty


def test_a_run_that_starts_late_sends_only_what_is_still_inside_its_windows(settings):
    ref = planned_day(settings)
    # 22:00 in New York: too late for New York, afternoon in Honolulu, morning in Shanghai.
    late = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    sent_at = run_waves(ref, settings, late)
    assert set(sent_at) == {"AC-HNL", "AC-SHA"}
    new_york = pipeline.ledger_for(settings).steps(DAY).query("account_id == 'AC-NY'").iloc[0]
    assert new_york["status"] == "expired" and "America/New_York" in new_york["status_reason"]


def test_a_wave_held_past_the_end_of_the_business_day_sends_nothing_and_says_why(settings):
    ref = planned_day(settings)
    pipeline.dispatch_wave(ref, SCHEDULED, settings=settings)
    cue = pipeline.next_wave(ref, settings)
    assert (cue.number, cue.due_at) == (2, datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    # The campaign was paused until the next morning: the waiting debtors are not contacted a day late.
    next_morning = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
    result = pipeline.dispatch_wave(ref, next_morning, wave=cue.number, due_at=cue.due_at, settings=settings)

    assert result["next_wave_at"] is None
    ledger = pipeline.ledger_for(settings)
    late = ledger.steps(DAY).query("account_id in ['AC-HNL', 'AC-SHA']")
    assert set(late["status"]) == {"expired"}
    assert all("paused" in reason and "business day 2026-11-20 ended" in reason for reason in late["status_reason"])
    assert ledger.attempts_for(DAY).query("account_id != 'AC-NY'").empty
    audit = ledger.account_timeline("AC-HNL")["decisions"]
    assert "expired" in set(audit["decision"])


def test_a_wave_killed_after_its_sends_is_carried_on_from_the_ledger_without_sending_twice(settings, monkeypatch):
    ref = planned_day(settings)
    ledger = pipeline.ledger_for(settings)
    pipeline.dispatch_wave(ref, SCHEDULED, settings=settings)
    honolulu_morning = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

    # The worker dies after the 18:00 wave's sends, before the wave is written down.
    def killed(self, row):
        raise SystemExit("worker killed")

    monkeypatch.setattr(type(ledger), "record_wave", killed)
    with pytest.raises(SystemExit):
        pipeline.dispatch_wave(ref, honolulu_morning, wave=2, due_at=honolulu_morning, settings=settings)
    monkeypatch.undo()
    assert set(ledger.attempts_for(DAY)["account_id"]) == {"AC-NY", "AC-HNL"}

    # The retried task asks the ledger where the day stands: wave 2 again, then Shanghai's morning.
    sent_at = run_waves(ref, settings, honolulu_morning)
    attempts = ledger.attempts_for(DAY)
    assert attempts["step_key"].is_unique and sorted(attempts["account_id"]) == ["AC-HNL", "AC-NY", "AC-SHA"]
    assert "AC-SHA" in sent_at and ledger.steps(DAY, statuses=["pending"]).empty
