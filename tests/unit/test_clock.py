"""The run's clock: the wall clock in production, a replay of the logical day in demos and rehearsals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest

from outreach.clock import ClockError, RunClock

NINE_IN_NEW_YORK = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_the_wall_clock_is_the_default_and_a_wave_wakes_at_its_own_instant():
    clock = RunClock.from_env({}, NINE_IN_NEW_YORK, None)
    assert not clock.is_replay
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    assert clock.wake_at(NINE_IN_NEW_YORK) == NINE_IN_NEW_YORK
    # A task retried before its wave's instant does not act as if that instant had come.
    later = datetime.now(UTC) + timedelta(hours=4)
    assert clock.now(at_least=later) < later and not clock.is_due(later)


def test_a_replay_acts_at_each_wave_instant_and_wakes_at_once():
    clock = RunClock.from_env({"OUTREACH_CLOCK": "logical"}, NINE_IN_NEW_YORK, datetime.now(UTC))
    honolulu_morning = NINE_IN_NEW_YORK + timedelta(hours=4)
    assert clock.now() == NINE_IN_NEW_YORK
    assert clock.now(at_least=honolulu_morning) == honolulu_morning
    assert clock.wake_at(honolulu_morning) <= datetime.now(UTC)


def test_a_replay_at_a_speed_maps_the_day_onto_the_wall_clock():
    started = datetime.now(UTC) - timedelta(seconds=30)
    # Airflow hands the logical date over as a pendulum instant.
    logical = pendulum.instance(NINE_IN_NEW_YORK)
    clock = RunClock.from_env({"OUTREACH_CLOCK": "logical", "OUTREACH_CLOCK_SPEED": "60"}, logical, started)
    # 30 wall seconds at 60x are half an hour of the replayed day.
    assert abs(clock.now() - (NINE_IN_NEW_YORK + timedelta(minutes=30))) < timedelta(minutes=1)
    assert clock.wake_at(NINE_IN_NEW_YORK + timedelta(hours=1)) == started + timedelta(minutes=1)
    assert clock.now(at_least=NINE_IN_NEW_YORK + timedelta(hours=5)) == NINE_IN_NEW_YORK + timedelta(hours=5)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OUTREACH_CLOCK": "yesterday"}, "OUTREACH_CLOCK"),
        ({"OUTREACH_CLOCK": "logical", "OUTREACH_CLOCK_SPEED": "fast"}, "OUTREACH_CLOCK_SPEED"),
        ({"OUTREACH_CLOCK": "logical", "OUTREACH_CLOCK_SPEED": "0"}, "OUTREACH_CLOCK_SPEED"),
    ],
)
def test_unusable_clock_settings_are_refused_naming_the_variable(env, named):
    with pytest.raises(ClockError, match=named):
        RunClock.from_env(env, NINE_IN_NEW_YORK, None)
