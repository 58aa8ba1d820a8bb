"""The instant a run acts at: the real clock in production, or a replay of a past day.

A campaign run follows its debtors' contact windows through the day, waiting between
waves. In production "now" is the wall clock and a wave waits until its instant. A
replay (the demo, a backfill rehearsal, a test) runs a past business day on that day's
own clock: the run's logical date is the start, and time moves on from there either at
once (each wave's instant is already due) or at a chosen speed, so that a day of waves
can be watched in minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime


class ClockError(ValueError):
    """The clock settings cannot be used; the message names the variable."""


@dataclass(frozen=True)
class RunClock:
    """``replay_from`` is the logical instant the run started at (None: the wall clock);
    ``started_at`` is the wall-clock instant it started; ``speed`` is replayed seconds per
    wall-clock second (None: every instant of the replayed day is already due)."""

    replay_from: datetime | None = None
    started_at: datetime | None = None
    speed: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], logical_date: datetime | None, started_at: datetime | None) -> RunClock:
        mode = env.get("OUTREACH_CLOCK") or "real"
        if mode == "real":
            return cls()
        if mode != "logical":
            raise ClockError(f"OUTREACH_CLOCK={mode!r} must be 'real' or 'logical'")
        if logical_date is None:
            raise ClockError("OUTREACH_CLOCK=logical needs the run's logical date (a run triggered without one)")
        raw_speed = env.get("OUTREACH_CLOCK_SPEED")
        try:
            speed = float(raw_speed) if raw_speed else None
        except ValueError as exc:
            raise ClockError(f"OUTREACH_CLOCK_SPEED={raw_speed!r} must be a number of seconds per second") from exc
        if speed is not None and speed <= 0:
            raise ClockError(f"OUTREACH_CLOCK_SPEED={raw_speed!r} must be positive")
        return cls(replay_from=_plain_utc(logical_date), started_at=_plain_utc(started_at or _wall()), speed=speed)

    @property
    def is_replay(self) -> bool:
        return self.replay_from is not None

    def now(self, at_least: datetime | None = None) -> datetime:
        """The instant to act at; a replayed wave woken for ``at_least`` never acts before it.

        The wall clock is never moved: a wave that wakes early (a retried task) is not due yet.
        """
        if self.replay_from is None:
            return _wall()
        if self.speed is None:
            current = self.replay_from
        else:
            assert self.started_at is not None
            current = self.replay_from + (_wall() - self.started_at) * self.speed
        return max(current, _plain_utc(at_least)) if at_least is not None else current

    def is_due(self, instant: datetime) -> bool:
        return self.wake_at(instant) <= _wall()

    def wake_at(self, instant: datetime) -> datetime:
        """The wall-clock instant at which ``instant`` of the run's day comes."""
        if self.replay_from is None:
            return instant
        if self.speed is None:
            return _wall()
        assert self.started_at is not None
        return self.started_at + (instant - self.replay_from) / self.speed


def _wall() -> datetime:
    return datetime.now(UTC)


def _plain_utc(instant: datetime) -> datetime:
    # Airflow hands over pendulum instants; their arithmetic with a timedelta can drop the zone.
    return datetime.fromtimestamp(instant.timestamp(), UTC)
