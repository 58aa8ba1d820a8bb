"""TwiML for automated calls, fetched by Twilio when the call connects.

A person hears the reminder in their language and a keypress menu; an
answering machine gets only a limited-content message (12 CFR 1006.2(j)), which
is why the words are chosen here, once Twilio's answering-machine detection has
spoken, and not when the call is placed. Requests are authenticated by Twilio's
signature before anything is read.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import and_, select
from twilio.request_validator import RequestValidator

from outreach.channels.providers import twilio_webhook_token
from outreach.events import record_keypress
from outreach.ledger import Ledger
from outreach.ledger.schema import account_snapshots, planned_steps
from outreach.messages import renderer_for
from outreach.settings import Settings
from outreach.web.events import announce, shared_ledger

log = logging.getLogger(__name__)
router = APIRouter(prefix="/twilio")
LANGUAGES = {"en": "en-US", "zh-CN": "cmn-CN"}


def public_url(request: Request) -> str:
    """The URL Twilio signed: behind a proxy, the configured public base replaces ours."""
    base = os.environ.get("OUTREACH_CALLBACK_BASE_URL")
    if not base:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base.rstrip('/')}/outreach{request.url.path.removeprefix('/outreach')}{query}"


_TOKEN_LOCK = threading.Lock()


def _twilio_token(request: Request) -> str | None:
    """The senders' auth token, read once: from the Airflow connection the plugin names, else the environment.

    Under a lock: the first burst of callbacks after a restart asks for it once, not once per request.
    """
    state = request.app.state
    with _TOKEN_LOCK:
        token = getattr(state, "twilio_token", None)
        if token is None:
            from_connection = getattr(state, "twilio_auth_token", None)
            token = state.twilio_token = twilio_webhook_token(
                os.environ, from_connection() if from_connection else None
            )
    return token


async def verified_form(request: Request) -> dict[str, str] | None:
    token = getattr(request.app.state, "twilio_token", None) or await run_in_threadpool(_twilio_token, request)
    if token is None:
        log.error(
            "Twilio webhook %s refused: the Twilio auth token (connection twilio_default or TWILIO_AUTH_TOKEN) "
            "is missing, empty or a placeholder, "
            "so no Twilio request can be verified",
            request.url.path,
        )
        return None
    form = {k: str(v) for k, v in (await request.form()).items()}
    signature = request.headers.get("X-Twilio-Signature", "")
    return form if RequestValidator(token).validate(public_url(request), form, signature) else None


def _twiml(body: str) -> Response:
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>', media_type="text/xml")


def _call_of(ledger: Ledger, step: str) -> tuple[Any, Any]:
    """The planned call a ref names, and its account on the call's business date."""
    step_key = ledger.step_key_for(step) or ""
    with ledger.engine.connect() as conn:
        planned = conn.execute(select(planned_steps).where(planned_steps.c.step_key == step_key)).mappings().first()
        if planned is None:
            return None, None
        account = (
            conn.execute(
                select(account_snapshots).where(
                    and_(
                        account_snapshots.c.business_date == planned["business_date"],
                        account_snapshots.c.account_id == planned["account_id"],
                    )
                )
            )
            .mappings()
            .first()
        )
    return planned, account


def _keypress(ledger: Ledger, step: str, call_sid: str, digits: str) -> bool | None:
    step_key = ledger.step_key_for(step)
    return record_keypress(ledger, step_key, call_sid, digits, datetime.now(UTC)) if step_key else None


@router.post("/voice")
async def voice(request: Request, step: str) -> Response:
    form = await verified_form(request)
    if form is None:
        return Response("invalid Twilio signature", status_code=403)
    planned, account = await run_in_threadpool(_call_of, shared_ledger(), step)
    if planned is None or account is None:
        return _twiml("<Hangup/>")
    account = dict(account)
    language = LANGUAGES.get(account.get("locale") or "en", "en-US")
    renderer = renderer_for(Settings.from_env().home)
    if form.get("AnsweredBy", "").startswith("machine"):
        text = renderer.render("voicemail", "lcm", account, planned["step_key"]).body
        return _twiml(f'<Say language="{language}">{escape(text)}</Say><Hangup/>')
    text = renderer.render("voice", planned["template"], account, planned["step_key"]).body
    say = f'<Say language="{language}">{escape(text)}</Say>'
    action = public_url(request).replace("/voice", "/gather") + f"&lang={language}"
    gather = f'<Gather numDigits="1" timeout="6" action="{escape(action)}">'
    return _twiml(f"{gather}{say}</Gather>{say}")


# What the caller hears after a keypress, by call language.
KEYPRESS_REPLIES = {
    "1": {
        "en-US": "Thank you. We are texting you a secure link to pay. Goodbye.",
        "cmn-CN": "谢谢。我们将通过短信发送安全的还款链接。再见。",
    },
    "2": {"en-US": "Thank you. An agent will call you back. Goodbye.", "cmn-CN": "谢谢。客服人员将给您回电。再见。"},
}
GOODBYE = {"en-US": "Thank you. Goodbye.", "cmn-CN": "谢谢。再见。"}


@router.post("/gather")
async def gather(request: Request, step: str, lang: str = "en-US") -> Response:
    """A keypress during the reminder: recorded now, acted on by the events DAG."""
    form = await verified_form(request)
    if form is None:
        return Response("invalid Twilio signature", status_code=403)
    call_sid, digits = form.get("CallSid"), form.get("Digits", "")
    if not call_sid:
        return Response("missing CallSid", status_code=400)
    recorded = await run_in_threadpool(_keypress, shared_ledger(), step, call_sid, digits)
    if recorded is None:
        return Response("unknown call", status_code=404)
    if recorded:
        await announce(request, 1)
    language = lang if lang in GOODBYE else "en-US"
    text = KEYPRESS_REPLIES.get(digits, GOODBYE).get(language, GOODBYE[language])
    return _twiml(f'<Say language="{language}">{escape(text)}</Say><Hangup/>')
