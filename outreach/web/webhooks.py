"""Provider webhooks: delivery receipts, call outcomes, email events and inbound replies.

Each request is authenticated before anything is recorded (Twilio's signature;
SendGrid's ECDSA signature inside a replay window); a bad or missing signature
gets 403 and changes nothing, a malformed body 400. Recording is idempotent and
quick: the endpoint writes to the ledger and returns; reactions happen in Airflow.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sendgrid.helpers.eventwebhook import EventWebhook

from outreach.channels.providers import twilio_sent_at
from outreach.events import record_reply, record_sendgrid_events, record_twilio_recording
from outreach.ledger import Ledger
from outreach.policy.replies import ReplyEffect, classify
from outreach.policy.senders import sender_type
from outreach.web.events import announce, shared_ledger
from outreach.web.status_batches import status_batcher
from outreach.web.voice import verified_form

router = APIRouter()
REPLAY_WINDOW_SECONDS = 600


async def _twilio_status(request: Request, step: str | None) -> Response:
    form = await verified_form(request)
    if form is None:
        return Response("invalid Twilio signature", status_code=403)
    if not step or not (form.get("MessageSid") or form.get("CallSid")):
        return Response("missing step or SID", status_code=400)
    status = await status_batcher.record(step, form)
    if status is None:
        return Response("unknown step", status_code=404)
    await announce(request, 1)
    return Response(status_code=204)


@router.post("/twilio/status")
async def twilio_message_status(request: Request, step: str | None = None) -> Response:
    return await _twilio_status(request, step)


@router.post("/twilio/recording-status")
async def twilio_recording_status(request: Request, step: str | None = None) -> Response:
    form = await verified_form(request)
    if form is None:
        return Response("invalid Twilio signature", status_code=403)
    if not step or not form.get("CallSid"):
        return Response("missing step or call SID", status_code=400)
    ledger = shared_ledger()

    def keep() -> bool:
        return record_twilio_recording(ledger, ledger.step_keys_for([step]).get(step), form, datetime.now(UTC))

    known = await run_in_threadpool(keep)
    return Response(status_code=204 if known else 404)


@router.post("/twilio/call-status")
async def twilio_call_status(request: Request, step: str | None = None) -> Response:
    return await _twilio_status(request, step)


def _record_reply(ledger: Ledger, form: dict[str, str], token: str | None) -> ReplyEffect | None:
    sender, body, message_sid = form["From"], form["Body"], form.get("MessageSid")
    received = datetime.now(UTC)
    sent = received
    if message_sid and token and classify(body) in ("opt_out", "opt_in"):
        # Opt-outs and opt-ins apply in the order the person sent them; Twilio's webhook has no time.
        sent = twilio_sent_at(form.get("AccountSid", ""), token, message_sid) or received
    # A STOP from a number no account lists today still holds: its suppression names the number.
    account_id = ledger.account_with_mobile(sender)
    return record_reply(
        ledger,
        account_id,
        "sms",
        sender,
        body,
        sent,
        message_sid,
        received_at=received,
        sender_type=sender_type(form.get("To")),
    )


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request) -> Response:
    form = await verified_form(request)
    if form is None:
        return Response("invalid Twilio signature", status_code=403)
    sender, body = form.get("From"), form.get("Body")
    if not sender or body is None:
        return Response("missing From or Body", status_code=400)
    token = getattr(request.app.state, "twilio_token", None)
    effect = await run_in_threadpool(_record_reply, shared_ledger(), form, token)
    if effect is not None:
        await announce(request, 1)
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response/>', media_type="text/xml")


@router.post("/sendgrid/events")
async def sendgrid_events(request: Request) -> Response:
    key = os.environ.get("OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY")
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    body = (await request.body()).decode("utf-8", errors="replace")
    if not key or not signature or not timestamp.isdigit():
        return Response("missing signature", status_code=403)
    if abs(time.time() - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return Response("stale signature", status_code=403)
    try:
        valid = EventWebhook(key).verify_signature(body, signature, timestamp)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        return Response("invalid signature", status_code=403)
    try:
        events = json.loads(body)
        if not isinstance(events, list):
            raise ValueError("not a list")
    except ValueError:
        return Response("body must be a JSON array of events", status_code=400)
    new = await run_in_threadpool(record_sendgrid_events, shared_ledger(), events)
    await announce(request, new)
    return Response(status_code=204)
