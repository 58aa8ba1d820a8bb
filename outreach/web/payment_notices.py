"""The bank's payment notifications: ``POST /outreach/payments`` (see ``outreach.payments``)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from outreach.payments import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    PaymentNoticeError,
    parse_notice,
    record_payment,
    signature_problem,
)
from outreach.settings import Settings
from outreach.web.events import announce, shared_ledger

router = APIRouter()


@router.post("/payments")
async def payment_notice(request: Request) -> Response:
    body = await request.body()
    problem = signature_problem(
        os.environ.get("OUTREACH_PAYMENTS_SECRET"),
        request.headers.get(TIMESTAMP_HEADER, ""),
        body,
        request.headers.get(SIGNATURE_HEADER, ""),
        time.time(),
    )
    if problem:
        return Response(problem, status_code=403)
    try:
        notice = parse_notice(body)
    except PaymentNoticeError as exc:
        return Response(str(exc), status_code=400)
    recorded = await run_in_threadpool(
        record_payment, shared_ledger(), notice, datetime.now(UTC), Settings.from_env().timezone
    )
    if not recorded.new:
        return JSONResponse({"recorded": False, "reason": f"payment {notice.payment_id} recorded before"})
    await announce(request, 1)
    if not recorded.known_account:
        # Accepted (the bank must not resend it), and waiting in the ops view for a person to match.
        return JSONResponse(
            {"recorded": True, "matched": False, "reason": "no such account: kept for a person to match"},
            status_code=202,
        )
    return Response(status_code=204)
