"""Liveness of the outreach side: does the ledger answer, and when did the last run finish."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from outreach.ledger import utc
from outreach.ledger.schema import pipeline_runs
from outreach.web.events import shared_ledger

router = APIRouter()


@router.get("/health")
def health() -> JSONResponse:
    try:
        with shared_ledger().engine.connect() as conn:
            last = conn.execute(select(func.max(pipeline_runs.c.finished_at))).scalar()
    except SQLAlchemyError as exc:
        return JSONResponse({"status": "error", "ledger": type(exc).__name__}, status_code=503)
    finished = utc(last)
    return JSONResponse({"status": "ok", "last_run_finished_at": finished.isoformat() if finished else None})
