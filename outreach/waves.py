"""The day's dispatch in waves, following the debtors' contact windows.

A campaign run plans once, then sends what is due now, waits until the next instant a
waiting step's window opens, sends that wave, and so on until nothing waiting can still
go before its business day ends; what is left then expires with its reason. Each wave
re-asks the contact policy (the dispatcher does), so an opt-out or a payment since the
plan still stops the step. A wave that comes after the business day has ended sends
nothing: a past day's outreach is never sent late.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

# A wave woken this much after its instant was held up: the campaign was paused, or Airflow was down.
LATE_AFTER = timedelta(minutes=5)
# Provider answers that mean our credentials were refused: every later send would fail the same way.
AUTHENTICATION_CODES = {"20003", "401", "403"}


class DispatchStopped(RuntimeError):
    """A wave's sends failed the way a person must look at; the wave and the reason are recorded first."""


@dataclass(frozen=True)
class FailureAlarm:
    """When a wave's failures stop the day: any authentication refusal, or more than ``max_share`` of
    its sends failing (once at least ``min_sends`` were tried, so one bad number is not an alarm)."""

    max_share: float = 0.25
    min_sends: int = 20

    def reason(self, sent: int, failed: int, failed_by_code: dict[str, int]) -> str | None:
        refused = {code: n for code, n in failed_by_code.items() if code.split()[-1] in AUTHENTICATION_CODES}
        if refused:
            return (
                f"stopped: the provider refused our credentials ({_codes(refused)}); fix the Twilio or "
                "SendGrid connection, then clear the dispatch task to carry on from this wave"
            )
        tried = sent + failed
        if tried >= self.min_sends and failed > self.max_share * tried:
            return (
                f"stopped: {failed} of {tried} sends failed ({failed / tried:.0%}, more than the "
                f"{self.max_share:.0%} OUTREACH_MAX_FAILURE_SHARE allows): {_codes(failed_by_code)}"
            )
        return None


def _codes(counts: dict[str, int]) -> str:
    return ", ".join(f"{code} x{n}" for code, n in sorted(counts.items(), key=lambda item: -item[1]))


@dataclass(frozen=True)
class WaveScope:
    """The steps one wave looks at: a campaign's business day, or only one run's steps of it."""

    campaign: str
    business_date: date
    timezone: str
    run_id: str | None = None


def _local(instant: datetime, timezone: str) -> str:
    return f"{instant.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M %Z}"


def day_over_reason(scope: WaveScope, day_end: datetime, now: datetime, due_at: datetime | None) -> str:
    """Why nothing more of a business day is sent: the wave came after the day had ended."""
    ended = f"business day {scope.business_date} ended at {_local(day_end, scope.timezone)}"
    if due_at is not None and now - due_at > LATE_AFTER:
        return (
            f"not sent: the wave due at {_local(due_at, scope.timezone)} could only go at "
            f"{_local(now, scope.timezone)} (the campaign was paused or Airflow was stopped), and the {ended}"
        )
    return (
        f"not sent: this run started at {_local(now, scope.timezone)}, after the {ended}; a past day is never sent late"
    )


def closing_reason(scope: WaveScope, day_end: datetime) -> str:
    """Why a step still waiting when the last wave has gone is not sent today."""
    return (
        "not possible today: its contact window did not open again before the business day ended at "
        f"{_local(day_end, scope.timezone)}"
    )


def late_note(scope: WaveScope, now: datetime, due_at: datetime | None) -> str | None:
    if due_at is None or now - due_at <= LATE_AFTER:
        return None
    minutes = int((now - due_at).total_seconds() // 60)
    return (
        f"resumed {minutes} min after its instant {_local(due_at, scope.timezone)} "
        "(the campaign was paused or Airflow was stopped); the policy was asked again"
    )


def format_waves(waves: pd.DataFrame, timezone: str) -> list[str]:
    """The waves of a campaign's day, one line each: when, what went, what was left waiting and until when."""
    if waves.empty:
        return ["  none yet"]
    lines = [
        f"  {'wave (UTC)':<17} {'local':<11} {'sent':>7} {'failed':>7} {'held':>6} {'expired':>8} {'waiting':>8}  next"
    ]
    zone = ZoneInfo(timezone)
    for wave in waves.itertuples():
        upcoming = f"{wave.next_wave_at:%H:%M} UTC" if pd.notna(wave.next_wave_at) else "-"
        if pd.notna(getattr(wave, "shards", None)):
            upcoming += f"  (shard {int(wave.shard) + 1} of {int(wave.shards)})"
        lines.append(
            f"  {wave.at:%Y-%m-%d %H:%M} {wave.at.astimezone(zone):%H:%M %Z}".ljust(31)
            + f" {wave.sent:>7,} {wave.failed:>7,} {wave.held:>6,} {wave.expired:>8,} {wave.waiting:>8,}  {upcoming}"
        )
        if wave.note:
            lines.append(f"    {wave.note}")
    return lines


def wave_totals(waves: Iterable[dict[str, Any]]) -> dict[str, int]:
    totals = {"waves": 0, "due": 0, "sent": 0, "failed": 0, "held": 0, "expired": 0}
    for wave in waves:
        totals["waves"] += 1
        for name in ("due", "sent", "failed", "held", "expired"):
            totals[name] += int(wave[name])
    return totals
