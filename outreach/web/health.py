"""Liveness of the outreach side: does the ledger answer, and when did the last run finish."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from outreach.ledger import Ledger, utc
from outreach.ledger.schema import pipeline_runs
from outreach.settings import Settings

router = APIRouter()


@router.get("/health")
def health() -> JSONResponse:
    settings = Settings.from_env()
    ledger = Ledger.from_url(settings.ledger_url)
    try:
        with ledger.engine.connect() as conn:
            last = conn.execute(select(func.max(pipeline_runs.c.finished_at))).scalar()
    except SQLAlchemyError as exc:
        return JSONResponse({"status": "error", "ledger": type(exc).__name__}, status_code=503)
    finally:
        ledger.dispose()
    finished = utc(last)
    return JSONResponse({"status": "ok", "last_run_finished_at": finished.isoformat() if finished else None})
