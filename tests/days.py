"""Run whole business days of the pipeline against a ledger, as the campaign DAGs do."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from outreach import pipeline
from outreach.settings import Settings
from tests.factories import raw_account, write_csv

CAMPAIGNS = ("m1_self_service", "m2_plus")
# 18:00 UTC: the afternoon in New York, the morning in Los Angeles.
AFTERNOON = time(18, 0)


def run_day(
    settings: Settings,
    day: date,
    campaigns: tuple[str, ...] = CAMPAIGNS,
    now: datetime | None = None,
    channel_set: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Pull and segment the day's accounts, then plan and dispatch each campaign; the refs by campaign."""
    ref = pipeline.segment(pipeline.pull(day, f"scheduled__{day}", settings), settings)
    refs = {}
    for campaign in campaigns:
        planned = pipeline.plan(ref, campaign, settings)
        sent = pipeline.dispatch_due(
            planned, settings, now=now or datetime.combine(day, AFTERNOON, UTC), channel_set=channel_set
        )
        refs[campaign] = sent
    return refs


class Book:
    """A small book of accounts that changes from day to day, written as the day's source file."""

    def __init__(self, path: Path):
        self.path = path
        self.accounts: dict[str, dict[str, str]] = {}

    def add(self, account_id: str, first_due: date, **fields: Any) -> None:
        self.accounts[account_id] = raw_account(
            account_id=account_id,
            customer_id=f"CU-{account_id}",
            oldest_unpaid_due_date=first_due.isoformat(),
            **fields,
        )

    def update(self, account_id: str, **fields: Any) -> None:
        self.accounts[account_id].update({k: str(v) for k, v in fields.items()})

    def remove(self, account_id: str) -> None:
        self.accounts.pop(account_id)

    def write(self) -> Path:
        return write_csv(self.path, list(self.accounts.values()))


def plan_all(ref: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Plan every shipped campaign; the ref (without a campaign) dispatches all their steps."""
    planned = 0
    for campaign in CAMPAIGNS:
        planned += pipeline.plan(ref, campaign, settings)["planned"]
    return {**ref, "planned": planned}


def planned_sample_day(settings: Settings, day: date, accounts: int = 200) -> dict[str, Any]:
    """A sample book for ``day`` pulled, segmented and planned for every shipped campaign; its ref."""
    from outreach.sample import write_sample

    write_sample(settings.accounts_file, day, accounts=accounts)
    return plan_all(pipeline.segment(pipeline.pull(day, "scheduled__1", settings), settings), settings)


def dispatched_sample_day(settings: Settings, day: date, now: datetime, accounts: int = 200) -> dict[str, Any]:
    """A sample book for ``day`` planned for every shipped campaign and dispatched at ``now``; its ref."""
    ref = planned_sample_day(settings, day, accounts)
    pipeline.dispatch_due(ref, settings, now=now)
    return ref


# Provider rates well above what a test day needs, so the sandbox tests do not wait on the limiter.
FAST_PROVIDERS = {
    "OUTREACH_SMS_PER_SECOND": "500",
    "OUTREACH_CALLS_PER_SECOND": "500",
    "OUTREACH_MAIL_REQUESTS_PER_SECOND": "100",
}


def dispatch_in_a_process(
    settings: Settings, sandbox_url: str, run_id: str, day: date, now: datetime, **env: str
) -> subprocess.Popen:
    """A dispatcher in its own process (one that can be killed, or race this one) sending ``day``'s
    due steps through the sandbox at ``now``."""
    script = (
        "from datetime import datetime; from outreach import pipeline; "
        f"pipeline.dispatch_due({{'run_id': {run_id!r}, 'business_date': '{day}'}}, "
        f"now=datetime.fromisoformat('{now.isoformat()}'))"
    )
    environment = {
        **os.environ,
        **FAST_PROVIDERS,
        "OUTREACH_SANDBOX_URL": sandbox_url,
        "OUTREACH_HOME": str(settings.home),
        "OUTREACH_LEDGER_URL": settings.ledger_url,
        "OUTREACH_CHANNELS": "sandbox",
        "OUTREACH_TIMEZONE": settings.timezone,
        **env,
    }
    return subprocess.Popen([sys.executable, "-c", script], env=environment)


def drive_waves(ref: dict, settings: Settings, started_at: datetime) -> None:
    """The day's waves as the dispatch task runs them: one now, then each at its instant, until the day is done."""
    now = started_at
    for _ in range(48):
        cue = pipeline.next_wave(ref, settings)
        at = max(now, cue.due_at or now)
        result = pipeline.dispatch_wave(ref, at, wave=cue.number, due_at=cue.due_at, settings=settings)
        if result["next_wave_at"] is None:
            return
        now = datetime.fromisoformat(result["next_wave_at"])
    pytest.fail("the day never ended")


def next_monday() -> date:
    """A day to come: a send is recorded at the moment it really goes, so a simulated day earlier than
    today would find the sends it makes in its own future."""
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def campaign_through_sandbox(
    settings: Settings, campaign_yaml: str, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """``settings`` with one campaign file of their own, sent through the sandbox providers as fast as
    they take it."""
    campaigns = settings.home / "campaigns"
    campaigns.mkdir(parents=True, exist_ok=True)
    campaign_id = next(line.split(":", 1)[1].strip() for line in campaign_yaml.splitlines() if line.startswith("id:"))
    (campaigns / f"{campaign_id}.yaml").write_text(campaign_yaml, encoding="utf-8")
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", sandbox_url)
    for key, value in FAST_PROVIDERS.items():
        monkeypatch.setenv(key, value)
    return dataclasses.replace(settings, campaigns_dir=campaigns, channel_set="sandbox")
