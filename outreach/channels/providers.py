"""Twilio SMS, Twilio voice and SendGrid email channels, through the official SDKs.

Credentials and base URLs are configuration (``ProviderSettings``): pointing at
the sandbox, a staging proxy or the real provider changes no code. Twilio's base
URL is not a constructor argument, so a custom HTTP client (the SDK's documented
hook) rewrites it; SendGrid takes its host directly.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
import time
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
import urllib3
from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from outreach.channels.base import OutboundMessage, SendResult
from outreach.channels.delivery import (
    OutcomeUnknown,
    PermanentError,
    RateLimiter,
    RetryPolicy,
    TransientError,
    send_all,
)
from outreach.ledger.ref_records import content_digest
from outreach.preflight import is_placeholder

TWILIO_API = "https://api.twilio.com"
# Twilio codes that will fail the same way every time: recorded, handed to the ladder's fallback.
TWILIO_PERMANENT = {21211, 21214, 21408, 21602, 21603, 21604, 21610, 21612, 21614, 21617, 21200, 21205, 21215}


SANDBOX_AUTH_TOKEN = "sandbox-auth-token"


def twilio_webhook_token(env: Mapping[str, str] | None = None, configured: str | None = None) -> str | None:
    """The key Twilio's webhooks are verified with: the auth token the senders use, or None.

    ``configured`` is the token of the Airflow connection the senders use, where there is one;
    otherwise ``TWILIO_AUTH_TOKEN``. With the local sandbox (``OUTREACH_SANDBOX_URL``) and no
    token set, that is the sandbox's token, as for the senders. Otherwise a missing, empty or
    placeholder token gives None, and every Twilio webhook is refused: a request is never
    verified against a default key.
    """
    env = os.environ if env is None else env
    token = (configured or env.get("TWILIO_AUTH_TOKEN") or "").strip()
    if not token and env.get("OUTREACH_SANDBOX_URL"):
        return SANDBOX_AUTH_TOKEN
    if not token or is_placeholder(token):
        return None
    return token


@dataclass(frozen=True)
class ProviderSettings:
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_base_url: str
    sms_from: str
    voice_from: str
    sendgrid_api_key: str
    sendgrid_base_url: str
    email_from: str
    email_from_name: str
    unsubscribe_group_id: int | None
    # Where providers post status callbacks: the Airflow API server's /outreach prefix.
    callback_base_url: str | None
    sms_per_second: float = 10.0
    calls_per_second: float = 1.0
    mail_requests_per_second: float = 10.0
    concurrency: int = 8
    mail_batch_size: int = 1000
    # Seconds to wait for a provider's answer.
    request_timeout: float = 15.0
    # Tries of one request the provider refuses for now (429, 5xx, unreachable) before the step
    # goes back to wait for a later wave.
    send_attempts: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProviderSettings:
        env = os.environ if env is None else env
        sandbox = env.get("OUTREACH_SANDBOX_URL")

        def need(name: str, default: str | None = None) -> str:
            value = env.get(name) or default
            if not value:
                raise ValueError(f"{name} is not set (needed to send through the providers)")
            return value

        return cls(
            twilio_account_sid=need("TWILIO_ACCOUNT_SID", "ACsandbox" if sandbox else None),
            twilio_auth_token=need("TWILIO_AUTH_TOKEN", SANDBOX_AUTH_TOKEN if sandbox else None),
            twilio_base_url=env.get("TWILIO_BASE_URL") or sandbox or TWILIO_API,
            sms_from=need("OUTREACH_SMS_FROM", "+15005550006" if sandbox else None),
            voice_from=need("OUTREACH_VOICE_FROM", "+15005550006" if sandbox else None),
            sendgrid_api_key=need("SENDGRID_API_KEY", "SG.sandbox" if sandbox else None),
            sendgrid_base_url=env.get("SENDGRID_BASE_URL") or sandbox or "https://api.sendgrid.com",
            email_from=need("OUTREACH_EMAIL_FROM", "collections@example.com" if sandbox else None),
            email_from_name=env.get("OUTREACH_EMAIL_FROM_NAME") or "Example Bank",
            unsubscribe_group_id=int(env["OUTREACH_UNSUBSCRIBE_GROUP"])
            if env.get("OUTREACH_UNSUBSCRIBE_GROUP")
            else None,
            callback_base_url=env.get("OUTREACH_CALLBACK_BASE_URL"),
            sms_per_second=float(env.get("OUTREACH_SMS_PER_SECOND", 10)),
            calls_per_second=float(env.get("OUTREACH_CALLS_PER_SECOND", 1)),
            mail_requests_per_second=float(env.get("OUTREACH_MAIL_REQUESTS_PER_SECOND", 10)),
            concurrency=int(env.get("OUTREACH_SEND_CONCURRENCY", 8)),
            request_timeout=float(env.get("OUTREACH_PROVIDER_TIMEOUT_SECONDS", 15)),
            send_attempts=max(1, int(env.get("OUTREACH_SEND_ATTEMPTS", 5))),
        )

    def callback_url(self, path: str, step: str) -> str | None:
        if not self.callback_base_url:
            return None
        return f"{self.callback_base_url.rstrip('/')}/{path}?step={quote(step, safe='')}"

    def unsubscribe_url(self, ref: str) -> str | None:
        """The one-click (RFC 8058) unsubscribe URL of a message, served by the plugin."""
        if not self.callback_base_url:
            return None
        return f"{self.callback_base_url.rstrip('/')}/outreach/unsubscribe/{quote(ref, safe='')}"


def twilio_sent_at(
    account_sid: str, auth_token: str, message_sid: str, env: Mapping[str, str] | None = None
) -> datetime | None:
    """When Twilio received an inbound text: its Message resource's ``date_created``.

    Twilio's inbound webhook carries no time, and webhooks can arrive out of order; an opt-out
    and an opt-in take effect in the order they were sent. None when Twilio cannot be asked now
    (the reply is then placed at its arrival).
    """
    env = os.environ if env is None else env
    base = env.get("TWILIO_BASE_URL") or env.get("OUTREACH_SANDBOX_URL") or TWILIO_API
    http = RoutedTwilioHttpClient(base, timeout=5)
    try:
        return Client(account_sid, auth_token, http_client=http).messages(message_sid).fetch().date_created
    except (TwilioRestException, TransientError, OutcomeUnknown, ValueError):
        return None


class RoutedTwilioHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending to a configured base URL and keeping each thread's last headers."""

    def __init__(self, base_url: str, timeout: float = 15.0):
        # The SDK logs request parameters (phone numbers) at INFO: keep it quiet.
        super().__init__(timeout=timeout, logger=logging.getLogger("twilio.http_client.quiet"))
        self.logger.setLevel(logging.WARNING)
        self.base_url = base_url.rstrip("/")
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        try:
            response = super().request(method, url, *args, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            if _never_sent(exc):
                raise TransientError(f"Twilio unreachable: {exc.__class__.__name__}") from exc
            if method.upper() != "POST":
                raise TransientError(f"Twilio did not answer: {exc.__class__.__name__}") from exc
            raise OutcomeUnknown(
                f"Twilio did not answer after the request went ({exc.__class__.__name__}): it may have been "
                "accepted, so it is not repeated until it is resolved"
            ) from exc
        self._local.headers = response.headers
        return response

    @property
    def last_retry_after(self) -> float | None:
        headers = getattr(self._local, "headers", None) or {}
        value = headers.get("Retry-After")
        return float(value) if value else None


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the provider: the connection was never made."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", None)
        return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
    return False


def _twilio_error(exc: TwilioRestException, http: RoutedTwilioHttpClient) -> Exception:
    code = str(exc.code) if exc.code else str(exc.status)
    if exc.status == 429 or exc.status >= 500:
        return TransientError(f"Twilio {exc.status}: {exc.msg}", code, http.last_retry_after)
    if exc.code in TWILIO_PERMANENT or 400 <= exc.status < 500:
        return PermanentError(f"Twilio {exc.code}: {exc.msg}", code)
    return TransientError(f"Twilio {exc.status}: {exc.msg}", code)


class _TwilioChannel:
    def __init__(self, settings: ProviderSettings, rate: float, policy: RetryPolicy | None = None):
        self.settings = settings
        self.http = RoutedTwilioHttpClient(settings.twilio_base_url, settings.request_timeout)
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=self.http)
        self.limiter = RateLimiter(rate)
        self.policy = policy or RetryPolicy(max_attempts=settings.send_attempts)

    def _create(self, create: Any) -> str:
        try:
            return create().sid
        except TwilioRestException as exc:
            raise _twilio_error(exc, self.http) from exc


class TwilioSmsChannel(_TwilioChannel):
    name = "twilio_sms"

    def __init__(self, settings: ProviderSettings, policy: RetryPolicy | None = None):
        super().__init__(settings, settings.sms_per_second, policy)

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        def one(message: OutboundMessage) -> str:
            options: dict[str, Any] = {"to": message.to, "from_": self.settings.sms_from, "body": message.body}
            callback = self.settings.callback_url("outreach/twilio/status", message.callback_ref)
            if callback:
                options["status_callback"] = callback
            return self._create(lambda: self.client.messages.create(**options))

        return send_all(batch, one, self.policy, self.limiter, self.settings.concurrency)

    def find_sent(self, number: str, since: datetime, digest: str, ref: str) -> tuple[list[str], int]:
        """Texts from our sender to ``number`` since ``since``: the SIDs of those with exactly the words
        whose digest is ``digest``, and how many others carry ``ref`` (ours, but changed on the way?)."""
        options: dict[str, Any] = {"to": number, "date_sent_after": since - timedelta(minutes=1), "limit": 200}
        if self.settings.sms_from:
            options["from_"] = self.settings.sms_from
        exact, carrying_ref = [], 0
        for message in self.client.messages.list(**options):
            body = message.body or ""
            if content_digest(body) == digest:
                exact.append(message.sid)
            elif ref and ref in body:
                carrying_ref += 1
        return exact, carrying_ref


class TwilioVoiceChannel(_TwilioChannel):
    """Automated calls. Twilio always fetches the words from the plugin's voice route once the call
    connects: only then is it known whether a person or an answering machine picked up, and a
    machine must hear nothing but the limited-content message. No callback URL, no call."""

    name = "twilio_voice"
    NO_CALLBACK = (
        "not called: OUTREACH_CALLBACK_BASE_URL is not set, and a call's words come from the plugin's "
        "voice route (answering-machine detection, keypress menu)"
    )

    def __init__(self, settings: ProviderSettings, policy: RetryPolicy | None = None):
        super().__init__(settings, settings.calls_per_second, policy)

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        def one(message: OutboundMessage) -> str:
            url = self.settings.callback_url("outreach/twilio/voice", message.callback_ref)
            if url is None:
                raise PermanentError(self.NO_CALLBACK, "no_callback_url")
            options: dict[str, Any] = {
                "to": message.to,
                "from_": self.settings.voice_from,
                "machine_detection": "DetectMessageEnd",
                "url": url,
                "status_callback": self.settings.callback_url("outreach/twilio/call-status", message.callback_ref),
                "status_callback_event": ["initiated", "answered", "completed"],
            }
            if message.record:
                options["record"] = True
                options["recording_status_callback"] = self.settings.callback_url(
                    "outreach/twilio/recording-status", message.callback_ref
                )
                options["recording_status_callback_event"] = ["completed", "absent"]
            return self._create(lambda: self.client.calls.create(**options))

        return send_all(batch, one, self.policy, self.limiter, self.settings.concurrency)


def sendgrid_retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait before trying SendGrid again: ``Retry-After``, else until ``X-RateLimit-Reset``
    (the Unix time its rate-limit window resets, which is what SendGrid's 429 carries)."""
    headers = headers or {}
    retry_after, reset = headers.get("Retry-After"), headers.get("X-RateLimit-Reset")
    try:
        if retry_after:
            return max(0.0, float(retry_after))
        if reset:
            return max(0.0, float(reset) - (time.time() if now is None else now))
    except ValueError:
        return None
    return None


class SendGridEmailChannel:
    """Email in batches of personalizations, one per recipient, with one-click unsubscribe."""

    name = "sendgrid_email"

    def __init__(self, settings: ProviderSettings, policy: RetryPolicy | None = None):
        self.settings = settings
        self.client = SendGridAPIClient(api_key=settings.sendgrid_api_key, host=settings.sendgrid_base_url)
        self.limiter = RateLimiter(settings.mail_requests_per_second)
        self.policy = policy or RetryPolicy(max_attempts=settings.send_attempts)

    def _payload(self, messages: Sequence[OutboundMessage]) -> dict[str, Any]:
        personalizations = []
        for message in messages:
            unsubscribe = self.settings.unsubscribe_url(message.callback_ref)
            item: dict[str, Any] = {
                "to": [{"email": message.to}],
                "subject": message.subject,
                # The message's ref travels with every event SendGrid posts back.
                "custom_args": {"step": message.callback_ref},
            }
            if unsubscribe:
                item["headers"] = {
                    "List-Unsubscribe": f"<{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
            personalizations.append(item)
        payload: dict[str, Any] = {
            "personalizations": personalizations,
            "from": {"email": self.settings.email_from, "name": self.settings.email_from_name},
            # Each personalization has its own body through a substitution of the rendered text.
            "content": [{"type": "text/plain", "value": "{{body}}"}],
            "categories": ["collections"],
        }
        for item, message in zip(personalizations, messages, strict=True):
            item["substitutions"] = {"{{body}}": message.body}
        if self.settings.unsubscribe_group_id is not None:
            payload["asm"] = {"group_id": self.settings.unsubscribe_group_id}
        return payload

    def _post(self, messages: Sequence[OutboundMessage]) -> str:
        try:
            response = self.client.client.mail.send.post(
                request_body=self._payload(messages), timeout=self.settings.request_timeout
            )
        except SendGridHTTPError as exc:
            detail = exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body)
            if exc.status_code == 429 or exc.status_code >= 500:
                raise TransientError(
                    f"SendGrid {exc.status_code}", str(exc.status_code), sendgrid_retry_after(exc.headers)
                ) from exc
            raise PermanentError(f"SendGrid {exc.status_code}: {detail[:300]}", str(exc.status_code)) from exc
        except urllib.error.URLError as exc:
            # urllib wraps what fails while connecting and sending; the request was not taken.
            raise TransientError(f"SendGrid unreachable: {exc.reason.__class__.__name__}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise OutcomeUnknown(
                f"SendGrid did not answer after the request went ({exc.__class__.__name__}): it may have been "
                "accepted, so it is not repeated until it is resolved"
            ) from exc
        return response.headers.get("X-Message-Id", "")

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        size = self.settings.mail_batch_size
        for start in range(0, len(batch), size):
            chunk = list(batch[start : start + size])
            outcome = send_all([chunk[0]], lambda _, chunk=chunk: self._post(chunk), self.policy, self.limiter, 1)[0]
            for index, message in enumerate(chunk):
                if outcome.status == "sent":
                    results.append(
                        SendResult(
                            message.step_key, "sent", provider_message_id=f"{outcome.provider_message_id}.{index}"
                        )
                    )
                else:
                    results.append(
                        SendResult(
                            message.step_key,
                            outcome.status,
                            error_code=outcome.error_code,
                            error=outcome.error,
                            permanent=outcome.permanent,
                        )
                    )
        return results
