"""The provider sandbox: Twilio's and SendGrid's HTTP APIs, as far as the project uses them.

The official SDKs run against it unmodified. It checks every request against the
providers' OpenAPI descriptions and the rules they cannot express, answers with
the providers' own error bodies, simulates outcomes by address, posts signed
status callbacks and event webhooks back, injects inbound replies, and keeps a
log of everything it received for tests to query.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from outreach.sandbox import outcomes
from outreach.sandbox.contracts import check_mail_send, check_twilio_form, valid_number
from outreach.sandbox.signing import SendGridSigner, twilio_signature

MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
CALLS_PATH = "/2010-04-01/Accounts/{AccountSid}/Calls.json"
MAX_BODY = 1600


@dataclass
class SandboxConfig:
    # Twilio's auth token: requests authenticated with another are refused (401, code 20003), and
    # callbacks are signed with it.
    auth_token: str = "sandbox-auth-token"
    # SendGrid's API key; None accepts any.
    sendgrid_api_key: str | None = None
    inbound_sms_url: str | None = None
    sendgrid_event_url: str | None = None
    callback_delay_ms: int = 0
    latency_ms: int = 0
    # Every ``burst_every``-th provider request starts a run of ``burst_length`` 429s.
    burst_every: int = 0
    burst_length: int = 0
    retry_after_seconds: int = 1
    # Every ``server_error_every``-th provider request answers 503.
    server_error_every: int = 0
    # Requests per second above which the sandbox answers 429, per provider (0: unlimited).
    twilio_rate_limit: float = 0
    sendgrid_rate_limit: float = 0
    # Outcome rules added to the defaults of outreach.sandbox.outcomes, e.g.
    # {"sms": {"42": ["undelivered", 30003]}, "calls": {"41": ["busy", null]}, "email": {"nomail": "bounce"}}
    outcome_rules: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class SandboxState:
    config: SandboxConfig = field(default_factory=SandboxConfig)
    requests: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)
    counter: int = 0
    burst_left: int = 0
    recent: dict[str, deque[float]] = field(default_factory=lambda: {"twilio": deque(), "sendgrid": deque()})
    pending: set[asyncio.Task[Any]] = field(default_factory=set)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    signer: SendGridSigner = field(default_factory=SendGridSigner)


def _now() -> str:
    return datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _basic_password(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded).decode().partition(":")[2]
    except (ValueError, UnicodeDecodeError):
        return None


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def sendgrid_error(status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": errors}, status_code=status, headers=headers)


def create_app(state: SandboxState | None = None) -> FastAPI:
    state = state or SandboxState()
    app = FastAPI(title="Provider sandbox", description=__doc__)
    app.state.sandbox = state

    def too_many(provider: str) -> tuple[int, dict[str, str]]:
        """A 429 as each provider words it: Twilio says Retry-After, SendGrid when its window resets."""
        wait = state.config.retry_after_seconds
        if provider == "sendgrid":
            return 429, {
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + wait),
            }
        return 429, {"Retry-After": str(wait)}

    def throttle(provider: str) -> tuple[int, dict[str, str]] | None:
        """(status, headers) when this request must be refused as a burst, an outage or over the rate."""
        config = state.config
        state.counter += 1
        if state.burst_left > 0:
            state.burst_left -= 1
            return too_many(provider)
        if config.burst_every and state.counter % config.burst_every == 0:
            state.burst_left = max(0, config.burst_length - 1)
            return too_many(provider)
        if config.server_error_every and state.counter % config.server_error_every == 0:
            return 503, {}
        limit = config.twilio_rate_limit if provider == "twilio" else config.sendgrid_rate_limit
        if limit:
            window = state.recent[provider]
            now = time.monotonic()
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return too_many(provider)
            window.append(now)
        return None

    def record(provider: str, kind: str, payload: Any, status: int) -> None:
        state.requests.append(
            {"at": time.time(), "provider": provider, "kind": kind, "payload": payload, "status": status}
        )

    clients: list[httpx.AsyncClient] = []

    def callback_client() -> httpx.AsyncClient:
        """One client for every callback: a client per request costs the sandbox more than the request."""
        if not clients:
            clients.append(httpx.AsyncClient(timeout=10))
        return clients[0]

    async def post_later(
        url: str, *, form: dict[str, str] | None = None, body: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        async def send() -> None:
            await asyncio.sleep(state.config.callback_delay_ms / 1000)
            try:
                response = await callback_client().post(url, data=form, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                status = f"error: {exc.__class__.__name__}"
            state.callbacks.append({"url": url, "status": status, "form": form, "body": body})

        task = asyncio.create_task(send())
        state.pending.add(task)
        task.add_done_callback(state.pending.discard)

    async def twilio_callback(url: str | None, params: dict[str, str]) -> None:
        if url:
            signature = twilio_signature(state.config.auth_token, url, params)
            await post_later(url, form=params, headers={"X-Twilio-Signature": signature})

    async def latency() -> None:
        if state.config.latency_ms:
            await asyncio.sleep(state.config.latency_ms / 1000)

    # -- Twilio ---------------------------------------------------------------------------

    async def twilio_preamble(
        request: Request, kind: str, path: str
    ) -> tuple[list[tuple[str, str]], dict[str, str], Response | None]:
        """What every Twilio create does first: credentials, throttling, the description's rules, the number."""
        await latency()
        if request.headers.get("authorization") is None:
            return [], {}, twilio_error(401, 20003, "Authentication Error - No credentials provided")
        if _basic_password(request.headers["authorization"]) != state.config.auth_token:
            return [], {}, twilio_error(401, 20003, "Authenticate")
        form = [(k, str(v)) for k, v in (await request.form()).multi_items()]
        params = dict(form)
        refused = throttle("twilio")
        early: Response | None = None
        if refused:
            status, headers = refused
            early = (
                twilio_error(429, 20429, "Too Many Requests", headers)
                if status == 429
                else twilio_error(503, 20500, "Service Unavailable")
            )
        elif problems := check_twilio_form(path, form):
            early = twilio_error(400, 21200, "Invalid request: " + "; ".join(problems))
        elif not valid_number(params.get("To", "")):
            early = twilio_error(400, 21211, f"The 'To' number {params.get('To', '')} is not a valid phone number.")
        if early is not None:
            record("twilio", kind, params, early.status_code)
        return form, params, early

    @app.post("/2010-04-01/Accounts/{account_sid}/Messages.json")
    async def create_message(account_sid: str, request: Request) -> Response:
        form, params, early = await twilio_preamble(request, "message", MESSAGES_PATH)
        if early is not None:
            return early
        to, body = params.get("To", ""), params.get("Body", "")
        if not params.get("From") and not params.get("MessagingServiceSid"):
            response = twilio_error(400, 21603, "A 'From' phone number is required.")
        elif not body:
            response = twilio_error(400, 21602, "Message body is required.")
        elif len(body) > MAX_BODY:
            response = twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        elif to in state.opted_out:
            response = twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        elif (refusal := outcomes.sms_refusal(to)) is not None:
            response = twilio_error(*refusal)
        else:
            sid = _sid("SM")
            outcome = outcomes.sms_outcome(to, state.config.outcome_rules.get("sms"))
            message = {
                "sid": sid,
                "account_sid": account_sid,
                "to": to,
                "from": params.get("From"),
                "messaging_service_sid": params.get("MessagingServiceSid"),
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "date_created": _now(),
                "date_updated": _now(),
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
                "created_at": time.time(),
            }
            state.messages[sid] = message
            callback = params.get("StatusCallback")
            base = {
                "MessageSid": sid,
                "SmsSid": sid,
                "AccountSid": account_sid,
                "To": to,
                "From": params.get("From", ""),
                "ApiVersion": "2010-04-01",
            }
            await twilio_callback(callback, {**base, "MessageStatus": "sent", "SmsStatus": "sent"})
            final = {**base, "MessageStatus": outcome.status, "SmsStatus": outcome.status}
            if outcome.error_code:
                final["ErrorCode"] = str(outcome.error_code)
            message.update(status=outcome.status, error_code=outcome.error_code)
            await twilio_callback(callback, final)
            response = JSONResponse({**message, "status": "queued"}, status_code=201)
        record("twilio", "message", params, response.status_code)
        return response

    @app.get("/2010-04-01/Accounts/{account_sid}/Messages.json")
    async def list_messages(account_sid: str, request: Request) -> Response:
        """Messages newest first, filtered as Twilio's list is by To, From and DateSent> (what the
        reconciler asks)."""
        query = request.query_params
        to, sender, after = query.get("To"), query.get("From"), query.get("DateSent>")
        since = datetime.fromisoformat(after.replace("Z", "+00:00")).timestamp() if after else None
        rows = [
            m
            for m in state.messages.values()
            if (to is None or m["to"] == to)
            and (sender is None or m["from"] == sender)
            and (since is None or m["created_at"] >= since)
        ]
        rows.sort(key=lambda m: m["created_at"], reverse=True)
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        return JSONResponse(
            {
                "messages": rows,
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
                "page": 0,
                "page_size": 50,
                "start": 0,
                "end": max(0, len(rows) - 1),
                "uri": uri,
            }
        )

    @app.get("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json")
    async def fetch_message(account_sid: str, sid: str) -> Response:
        message = state.messages.get(sid)
        if message is None:
            return twilio_error(404, 20404, f"The requested resource /Messages/{sid}.json was not found")
        return JSONResponse(message)

    @app.post("/2010-04-01/Accounts/{account_sid}/Calls.json")
    async def create_call(account_sid: str, request: Request) -> Response:
        form, params, early = await twilio_preamble(request, "call", CALLS_PATH)
        if early is not None:
            return early
        to = params.get("To", "")
        if not (params.get("Twiml") or params.get("Url") or params.get("ApplicationSid")):
            response = twilio_error(400, 21205, "Url, Twiml or ApplicationSid is required.")
        else:
            sid = _sid("CA")
            outcome = outcomes.call_outcome(to, state.config.outcome_rules.get("calls"))
            call = {
                "sid": sid,
                "account_sid": account_sid,
                "to": to,
                "from": params.get("From"),
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "date_created": _now(),
                "answered_by": None,
                "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json",
            }
            state.calls[sid] = call
            events = [v for k, v in form if k == "StatusCallbackEvent"] or ["completed"]
            base = {
                "CallSid": sid,
                "AccountSid": account_sid,
                "To": to,
                "From": params.get("From", ""),
                "ApiVersion": "2010-04-01",
                "Direction": "outbound-api",
            }
            answered = outcome.status == "completed"
            for event in ("initiated", "ringing", "answered", "completed"):
                if event not in events or (event == "answered" and not answered):
                    continue
                status = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}.get(
                    event, outcome.status
                )
                payload = {**base, "CallStatus": status}
                if event in ("answered", "completed") and answered and params.get("MachineDetection"):
                    payload["AnsweredBy"] = outcome.answered_by or "human"
                if event == "completed":
                    payload["CallDuration"] = "21" if answered else "0"
                await twilio_callback(params.get("StatusCallback"), payload)
            if params.get("Record", "").lower() == "true":
                # Twilio's recording callback: a completed recording of an answered call, else "absent".
                recording = {
                    **{key: base[key] for key in ("CallSid", "AccountSid")},
                    "RecordingSid": _sid("RE") if answered else "",
                    "RecordingStatus": "completed" if answered else "absent",
                    "RecordingDuration": "21" if answered else "0",
                    "RecordingChannels": "1",
                    "RecordingSource": "OutboundAPI",
                }
                if answered:
                    recording["RecordingUrl"] = (
                        f"{str(request.base_url).rstrip('/')}/2010-04-01/Accounts/{account_sid}/Recordings/"
                        f"{recording['RecordingSid']}"
                    )
                await twilio_callback(params.get("RecordingStatusCallback"), recording)
            call.update(status=outcome.status, answered_by=outcome.answered_by if answered else None)
            response = JSONResponse({**call, "status": "queued"}, status_code=201)
        record("twilio", "call", params, response.status_code)
        return response

    @app.get("/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json")
    async def fetch_call(account_sid: str, sid: str) -> Response:
        call = state.calls.get(sid)
        if call is None:
            return twilio_error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        return JSONResponse(call)

    # -- SendGrid -------------------------------------------------------------------------

    @app.post("/v3/mail/send")
    async def mail_send(request: Request) -> Response:
        await latency()
        bearer = request.headers.get("authorization", "")
        key = state.config.sendgrid_api_key
        if not bearer.startswith("Bearer ") or (key is not None and bearer.removeprefix("Bearer ") != key):
            return sendgrid_error(
                401,
                [
                    {
                        "message": "The provided authorization grant is invalid, expired, or revoked",
                        "field": None,
                        "help": None,
                    }
                ],
            )
        try:
            payload = json.loads(await request.body())
        except json.JSONDecodeError:
            record("sendgrid", "mail", None, 400)
            return sendgrid_error(400, [{"message": "Bad Request", "field": None, "help": None}])
        refused = throttle("sendgrid")
        if refused:
            status, headers = refused
            record("sendgrid", "mail", payload, status)
            return sendgrid_error(
                status,
                [{"message": "too many requests" if status == 429 else "unavailable", "field": None, "help": None}],
                headers,
            )
        errors = check_mail_send(payload)
        if errors:
            record("sendgrid", "mail", payload, 400)
            return sendgrid_error(400, errors)
        message_id = uuid.uuid4().hex[:22]
        record("sendgrid", "mail", payload, 202)
        events = []
        for index, item in enumerate(payload["personalizations"]):
            args = {**(payload.get("custom_args") or {}), **(item.get("custom_args") or {})}
            for recipient in item.get("to", []):
                result = outcomes.email_outcome(recipient["email"], state.config.outcome_rules.get("email"))
                for event in ("processed", result):
                    events.append(
                        {
                            "email": recipient["email"],
                            "timestamp": int(time.time()),
                            "event": event,
                            "sg_event_id": uuid.uuid4().hex,
                            "sg_message_id": f"{message_id}.{index}",
                            **({"type": "bounce", "reason": "550 5.1.1 user unknown"} if event == "bounce" else {}),
                            **args,
                        }
                    )
        url = state.config.sendgrid_event_url
        if url and events:
            body = json.dumps(events)
            timestamp = str(int(time.time()))
            await post_later(
                url,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Twilio-Email-Event-Webhook-Signature": state.signer.sign(timestamp, body),
                    "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
                },
            )
        return Response(status_code=202, headers={"X-Message-Id": message_id})

    # -- Reassigned Numbers Database -------------------------------------------------------

    @app.post("/rnd/v1/queries")
    async def rnd_queries(request: Request) -> Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return JSONResponse({"error": "a bearer token is required"}, status_code=401)
        try:
            queries = (await request.json())["queries"]
            results = [{**q, "result": outcomes.reassigned(str(q["tn"]))} for q in queries]
        except (ValueError, KeyError, TypeError):
            record("rnd", "query", None, 400)
            return JSONResponse({"error": 'expected {"queries": [{"tn": ..., "date": ...}]}'}, status_code=400)
        record("rnd", "query", {"queries": queries}, 200)
        return JSONResponse({"results": results})

    # -- control --------------------------------------------------------------------------

    @app.get("/_sandbox/requests")
    async def requests_log(provider: str | None = None, to: str | None = None) -> list[dict[str, Any]]:
        rows = [r for r in state.requests if provider is None or r["provider"] == provider]
        if to is not None:
            rows = [r for r in rows if to in _recipients(r)]
        return rows

    @app.get("/_sandbox/config")
    async def get_config() -> dict[str, Any]:
        return state.config.__dict__

    @app.post("/_sandbox/config")
    async def set_config(request: Request) -> dict[str, Any]:
        for key, value in (await request.json()).items():
            if not hasattr(state.config, key):
                return JSONResponse({"error": f"unknown setting {key}"}, status_code=400)
            setattr(state.config, key, value)
        return state.config.__dict__

    @app.post("/_sandbox/reset")
    async def reset() -> dict[str, str]:
        await flush()
        state.requests.clear()
        state.messages.clear()
        state.calls.clear()
        state.opted_out.clear()
        state.callbacks.clear()
        state.counter = state.burst_left = 0
        state.config = SandboxConfig(auth_token=state.config.auth_token)
        return {"status": "reset"}

    @app.post("/_sandbox/flush")
    async def flush() -> dict[str, int]:
        while state.pending:
            await asyncio.gather(*list(state.pending), return_exceptions=True)
        return {"callbacks": len(state.callbacks)}

    @app.get("/_sandbox/callbacks")
    async def callbacks() -> list[dict[str, Any]]:
        return state.callbacks

    @app.post("/_sandbox/inbound")
    async def inbound(request: Request) -> dict[str, Any]:
        """Inject an inbound SMS (a reply such as STOP), posted signed to the inbound URL."""
        data = await request.json()
        sender, body = data["from"], data["body"]
        if body.strip().upper() in {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}:
            state.opted_out.add(sender)  # as Twilio's own keyword handling does
        elif body.strip().upper() in {"START", "YES", "UNSTOP"}:
            state.opted_out.discard(sender)
        params = {
            "MessageSid": _sid("SM"),
            "AccountSid": data.get("account_sid", "ACsandbox"),
            "From": sender,
            "To": data["to"],
            "Body": body,
            "NumMedia": "0",
        }
        # Kept as Twilio keeps it, for a fetch of its time: ``sent_at`` (ISO) sets when the person
        # sent it, to deliver replies out of the order they were sent.
        sent = datetime.fromisoformat(data["sent_at"]) if data.get("sent_at") else datetime.now(UTC)
        state.messages[params["MessageSid"]] = {
            "sid": params["MessageSid"],
            "account_sid": params["AccountSid"],
            "to": data["to"],
            "from": sender,
            "body": body,
            "status": "received",
            "direction": "inbound",
            "num_segments": "1",
            "api_version": "2010-04-01",
            "date_created": sent.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "date_updated": sent.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "date_sent": sent.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{params['AccountSid']}/Messages/{params['MessageSid']}.json",
            "created_at": sent.timestamp(),
        }
        await twilio_callback(state.config.inbound_sms_url, params)
        return {"posted_to": state.config.inbound_sms_url, "sid": params["MessageSid"]}

    @app.get("/_sandbox/sendgrid/public-key")
    async def public_key() -> dict[str, str]:
        return {"public_key": state.signer.public_key}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _recipients(row: dict[str, Any]) -> list[str]:
    payload = row.get("payload") or {}
    if row["provider"] == "twilio":
        return [payload.get("To", "")]
    return [r["email"] for p in payload.get("personalizations", []) for r in p.get("to", [])]
