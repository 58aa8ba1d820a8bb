"""What every event endpoint shares: the ledger, and telling Airflow that new events arrived."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable

from fastapi import Request

from outreach.ledger import Ledger
from outreach.settings import Settings

log = logging.getLogger(__name__)
# Announcements within this many seconds become one: a short code's 300 callbacks a second wake
# the events DAG once, not 300 times (each run reacts to every event not yet reacted to).
ANNOUNCE_WINDOW_SECONDS = 1.0


@functools.lru_cache(maxsize=4)
def _ledger_at(url: str) -> Ledger:
    return Ledger.from_url(url)


def shared_ledger() -> Ledger:
    """The deployment's ledger: one engine and connection pool per process, never one per request
    (opening and disposing an engine per request held webhooks to about 40 a second)."""
    return _ledger_at(Settings.from_env().ledger_url)


class Announcer:
    """Tells Airflow that new events arrived, at most once per ``window`` seconds, with their sum."""

    def __init__(self, hook: Callable[[int], None], window: float = ANNOUNCE_WINDOW_SECONDS):
        self.hook, self.window = hook, window
        self._pending = 0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self._pending += count
            wait = self.window > 0
            if wait and self._timer is None:
                self._timer = threading.Timer(self.window, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if not wait:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            count, self._pending, self._timer = self._pending, 0, None
        if count <= 0:
            return
        try:
            self.hook(count)
        except Exception:  # the events are recorded; the next run will react to them anyway
            log.exception("could not announce %d new event(s) to Airflow", count)


async def announce(request: Request, count: int) -> None:
    """Wake the events DAG (the plugin sets ``app.state.announce_events``); never fail the webhook for it."""
    hook = getattr(request.app.state, "announce_events", None)
    if hook is None or count <= 0:
        return
    announcer = getattr(request.app.state, "announcer", None)
    if announcer is None or announcer.hook is not hook:
        window = getattr(request.app.state, "announce_window", ANNOUNCE_WINDOW_SECONDS)
        announcer = request.app.state.announcer = Announcer(hook, window)
    announcer.add(count)
