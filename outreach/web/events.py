"""What every event endpoint shares: the ledger, and telling Airflow that new events arrived."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from outreach.ledger import Ledger
from outreach.settings import Settings

log = logging.getLogger(__name__)


def open_ledger() -> Ledger:
    return Ledger.from_url(Settings.from_env().ledger_url)


async def announce(request: Request, count: int) -> None:
    """Wake the events DAG (the plugin sets ``app.state.announce_events``); never fail the webhook for it."""
    hook = getattr(request.app.state, "announce_events", None)
    if hook is None or count <= 0:
        return
    try:
        await run_in_threadpool(hook, count)
    except Exception:  # the event is recorded; the next run will react to it anyway
        log.exception("could not announce %d new event(s) to Airflow", count)
