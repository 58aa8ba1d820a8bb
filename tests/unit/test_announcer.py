"""Telling Airflow that events arrived: a burst of callbacks wakes the events DAG once."""

import time

from outreach.web.events import Announcer


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_burst_of_events_is_announced_once_with_its_sum():
    calls: list[int] = []
    announcer = Announcer(calls.append, window=0.2)
    for _ in range(300):
        announcer.add(1)
    wait_for(lambda: calls)
    time.sleep(0.3)
    assert calls == [300]
    announcer.add(2)
    wait_for(lambda: len(calls) == 2)
    assert calls == [300, 2], "a later event is announced in its own window"


def test_an_announcement_that_fails_is_logged_and_the_next_one_still_goes(caplog):
    calls: list[int] = []

    def flaky(count: int) -> None:
        calls.append(count)
        if len(calls) == 1:
            raise ConnectionError("Airflow's database is restarting")

    announcer = Announcer(flaky, window=0)
    announcer.add(3)
    announcer.add(1)
    assert calls == [3, 1]
    assert "could not announce 3 new event(s)" in caplog.text
