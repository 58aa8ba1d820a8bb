"""The Twilio and SendGrid channels, through the real SDKs, against the sandbox."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from urllib.parse import parse_qsl

import pytest
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from outreach.channels import OutboundMessage
from outreach.channels.delivery import RetryPolicy
from outreach.channels.providers import (
    ProviderSettings,
    SendGridEmailChannel,
    TwilioSmsChannel,
    TwilioVoiceChannel,
    sendgrid_retry_after,
)
from tests.servers import DelayingProxy, receiver_app, serve

FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.2)


def settings_for(sandbox_url: str, callback_base: str | None = None, **overrides) -> ProviderSettings:
    env = {
        "OUTREACH_SANDBOX_URL": sandbox_url,
        "OUTREACH_SMS_PER_SECOND": "200",
        "OUTREACH_CALLS_PER_SECOND": "200",
        "OUTREACH_MAIL_REQUESTS_PER_SECOND": "50",
        "OUTREACH_UNSUBSCRIBE_GROUP": "42",
    }
    if callback_base:
        env["OUTREACH_CALLBACK_BASE_URL"] = callback_base
    env.update(overrides)
    return ProviderSettings.from_env(env)


def sms(step: str, to: str, body: str = "Example Bank: payment due. Reply STOP to stop texts.") -> OutboundMessage:
    return OutboundMessage(
        step_key=step, account_id=step.split("|")[0], channel="sms", to=to, subject=None, body=body, locale="en"
    )


def test_texts_go_through_the_sdk_and_are_recorded_once(sandbox):
    channel = TwilioSmsChannel(settings_for(sandbox.url), FAST)
    results = channel.send([sms(f"A{i}|c|s|sms|d", f"+1212555{i:04d}") for i in range(100, 110)])
    assert [r.status for r in results] == ["sent"] * 10
    assert all(r.provider_message_id.startswith("SM") for r in results)
    assert len(sandbox.accepted("twilio")) == 10


@pytest.mark.parametrize(
    ("number", "code"), [("+12125550199", "21610"), ("+12125550198", "21614"), ("+1212555", "21211")]
)
def test_permanent_errors_are_not_retried(sandbox, number, code):
    (result,) = TwilioSmsChannel(settings_for(sandbox.url), FAST).send([sms("A|c|s|sms|d", number)])
    assert (result.status, result.error_code, result.permanent) == ("failed", code, True)
    assert len(sandbox.requests("twilio")) == 1, "a permanent error is never retried"


def test_429_bursts_and_outages_are_survived_with_nothing_lost_or_doubled(sandbox):
    sandbox.configure(burst_every=5, burst_length=2, retry_after_seconds=0, server_error_every=11)
    numbers = [f"+1312555{i:04d}" for i in range(100, 140)]
    results = TwilioSmsChannel(settings_for(sandbox.url), RetryPolicy(12, 0.01, 0.1)).send(
        [sms(f"A{i}|c|s|sms|d", n) for i, n in enumerate(numbers)]
    )
    assert all(r.status == "sent" for r in results)
    accepted = [r["payload"]["To"] for r in sandbox.accepted("twilio")]
    assert sorted(accepted) == sorted(numbers), "every text exactly once"
    assert any(r["status"] == 429 for r in sandbox.requests("twilio"))


def test_giving_up_on_a_transient_error_is_not_a_permanent_failure(sandbox):
    sandbox.configure(server_error_every=1)
    (result,) = TwilioSmsChannel(settings_for(sandbox.url), RetryPolicy(3, 0.01, 0.05)).send(
        [sms("A|c|s|sms|d", "+12125550142")]
    )
    assert result.status == "failed" and result.permanent is False and "gave up after 3 attempts" in result.error


def test_the_rate_limit_keeps_the_provider_from_refusing_us(sandbox):
    # The sender's pace stays well inside the provider's: a busy machine bunches requests in transit.
    sandbox.configure(twilio_rate_limit=25)
    channel = TwilioSmsChannel(settings_for(sandbox.url, OUTREACH_SMS_PER_SECOND="15"), RetryPolicy(1, 0.01, 0.01))
    results = channel.send([sms(f"A{i}|c|s|sms|d", f"+1415555{i:04d}") for i in range(100, 150)])
    assert all(r.status == "sent" for r in results)
    assert not any(r["status"] == 429 for r in sandbox.requests("twilio"))


def test_status_callbacks_carry_the_messages_ref_and_verify_with_twilio_validator(sandbox):
    app, received = receiver_app()
    with serve(app) as receiver:
        channel = TwilioSmsChannel(settings_for(sandbox.url, receiver), FAST)
        message = sms("AC1|default|m1-sms-1|sms|2026-11-20", "+12125550197")
        channel.send([replace(message, ref="k3XbQ9vR2mPzT8wL")])
        sandbox.flush()
    statuses = [dict(parse_qsl(r["body"])) for r in received]
    assert sorted(s["MessageStatus"] for s in statuses) == ["sent", "undelivered"]
    assert next(s for s in statuses if s["MessageStatus"] == "undelivered")["ErrorCode"] == "30003"
    validator = RequestValidator("sandbox-auth-token")
    for request, params in zip(received, statuses, strict=True):
        assert request["url"].endswith("?step=k3XbQ9vR2mPzT8wL") and "AC1" not in request["url"]
        assert validator.validate(request["url"], params, request["headers"]["x-twilio-signature"])
        assert not validator.validate(
            request["url"], {**params, "MessageStatus": "delivered"}, request["headers"]["x-twilio-signature"]
        )


def call(ref: str = "c4LLr3fXy7Qw2ZpN") -> OutboundMessage:
    return OutboundMessage(
        "A|c|s|voice|d",
        "A",
        "voice",
        "+13035550142",
        None,
        "This is Example Bank. Press 1 for a payment link, 2 for an agent.",
        "zh-CN",
        ref=ref,
    )


def test_calls_fetch_their_words_from_the_plugin_with_answering_machine_detection(sandbox):
    channel = TwilioVoiceChannel(settings_for(sandbox.url, "https://ops.bank.test"), FAST)
    (result,) = channel.send([call()])
    assert result.status == "sent" and result.provider_message_id.startswith("CA")
    (request,) = sandbox.accepted("twilio")
    assert request["payload"]["MachineDetection"] == "DetectMessageEnd"
    assert request["payload"]["Url"] == "https://ops.bank.test/outreach/twilio/voice?step=c4LLr3fXy7Qw2ZpN"
    assert "Twiml" not in request["payload"], "the collection message is never inline, where a machine would hear it"


def test_without_a_callback_url_no_call_is_placed(sandbox):
    (result,) = TwilioVoiceChannel(settings_for(sandbox.url), FAST).send([call()])
    assert (result.status, result.permanent) == ("failed", True)
    assert "OUTREACH_CALLBACK_BASE_URL" in result.error
    assert sandbox.requests("twilio") == []


def test_email_goes_in_batches_of_at_most_1000_with_one_click_unsubscribe(sandbox):
    settings = settings_for(sandbox.url, "https://ops.example.com")
    channel = SendGridEmailChannel(settings, FAST)
    batch = [
        OutboundMessage(
            f"A{i}|c|s|email|d",
            f"A{i}",
            "email",
            f"user{i}@example.com",
            "Reminder",
            f"Hello {i}. To stop emails use the link.",
            "en",
            ref=f"ref{i}",
        )
        for i in range(2500)
    ]
    results = channel.send(batch)
    assert [r.status for r in results] == ["sent"] * 2500
    requests = sandbox.accepted("sendgrid")
    assert [len(r["payload"]["personalizations"]) for r in requests] == [1000, 1000, 500]
    first = requests[0]["payload"]["personalizations"][0]
    assert first["custom_args"] == {"step": "ref0"}
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["headers"]["List-Unsubscribe"] == "<https://ops.example.com/outreach/unsubscribe/ref0>"
    assert requests[0]["payload"]["asm"] == {"group_id": 42}


def test_email_events_are_signed_as_sendgrid_signs_them(sandbox):
    app, received = receiver_app()
    with serve(app) as receiver:
        sandbox.configure(sendgrid_event_url=receiver + "/outreach/sendgrid/events")
        SendGridEmailChannel(settings_for(sandbox.url), FAST).send(
            [OutboundMessage("A|c|s|email|d", "A", "email", "bounce.me@example.com", "Reminder", "Hello", "en", "r3f")]
        )
        sandbox.flush()
    (request,) = received
    events = json.loads(request["body"])
    assert [e["event"] for e in events] == ["processed", "bounce"]
    assert events[1]["step"] == "r3f"
    verifier = EventWebhook(sandbox.public_key())
    headers = request["headers"]
    signature = headers["x-twilio-email-event-webhook-signature"]
    timestamp = headers["x-twilio-email-event-webhook-timestamp"]
    assert verifier.verify_signature(request["body"], signature, timestamp)
    assert not verifier.verify_signature(request["body"].replace("bounce", "delivered"), signature, timestamp)


@pytest.mark.parametrize("provider", ["twilio", "sendgrid"])
def test_an_unreachable_provider_is_a_transient_failure_not_a_permanent_one(provider):
    from tests.servers import free_port

    settings = settings_for(f"http://127.0.0.1:{free_port()}")
    if provider == "twilio":
        (result,) = TwilioSmsChannel(settings, RetryPolicy(2, 0.01, 0.02)).send([sms("A|c|s|sms|d", "+12125550142")])
    else:
        email = OutboundMessage("A|c|s|email|d", "A", "email", "u@mail.test", "Hi", "Hello", "en")
        (result,) = SendGridEmailChannel(settings, RetryPolicy(2, 0.01, 0.02)).send([email])
    # Nothing reached the provider: safe to try again later.
    assert result.status == "failed" and result.permanent is False
    assert "unreachable" in result.error


@pytest.mark.parametrize("provider", ["twilio_sms", "twilio_voice", "sendgrid"])
def test_a_request_answered_after_the_timeout_is_not_repeated(sandbox, provider):
    # The provider acts on the request at once; its answer comes after the client gave up.
    proxy = DelayingProxy(sandbox.url, delay=1.0)
    try:
        settings = settings_for(proxy.url, "http://127.0.0.1:9", OUTREACH_PROVIDER_TIMEOUT_SECONDS="0.3")
        if provider == "twilio_sms":
            (result,) = TwilioSmsChannel(settings, FAST).send([sms("A|c|s|sms|d", "+12125550142")])
        elif provider == "twilio_voice":
            call = replace(sms("A|c|s|voice|d", "+12125550142"), channel="voice")
            (result,) = TwilioVoiceChannel(settings, FAST).send([call])
        else:
            email = OutboundMessage("A|c|s|email|d", "A", "email", "u@mail.test", "Hi", "Hello", "en")
            (result,) = SendGridEmailChannel(settings, FAST).send([email])
    finally:
        proxy.close()
    assert result.status == "unknown" and result.error_code == "outcome_unknown"
    assert "not repeated" in result.error
    reached = sandbox.accepted("sendgrid" if provider == "sendgrid" else "twilio")
    assert len(reached) == 1, "the request reached the provider once, and was not sent again"


def test_outcome_rules_are_configurable(sandbox):
    app, received = receiver_app()
    with serve(app) as receiver:
        sandbox.configure(outcome_rules={"sms": {"42": ["undelivered", 30005]}})
        TwilioSmsChannel(settings_for(sandbox.url, receiver), FAST).send([sms("A|c|s|sms|d", "+12125550142")])
        sandbox.flush()
    # Callbacks may arrive in any order, as Twilio's do: the outcome is the one final status among them.
    statuses = [dict(parse_qsl(request["body"])) for request in received]
    (final,) = [status for status in statuses if status["MessageStatus"] != "sent"]
    assert (final["MessageStatus"], final["ErrorCode"]) == ("undelivered", "30005")


def test_sendgrid_is_tried_again_only_once_its_rate_limit_window_resets(sandbox):
    # Every second request is refused with SendGrid's 429, which names the second its window resets.
    sandbox.configure(burst_every=2, burst_length=1, retry_after_seconds=2)
    channel = SendGridEmailChannel(settings_for(sandbox.url), RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=5))
    emails = [
        OutboundMessage(f"A{i}|c|s|email|d", f"A{i}", "email", f"u{i}@mail.test", "Hi", "Hello", "en") for i in range(2)
    ]
    started = time.monotonic()
    results = channel.send(emails[:1]) + channel.send(emails[1:])
    assert [r.status for r in results] == ["sent", "sent"]
    refused = [r for r in sandbox.requests("sendgrid") if r["status"] == 429]
    assert len(refused) == 1 and time.monotonic() - started >= 1.0, "the retry waited for the window to reset"


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"X-RateLimit-Reset": "1000012"}, 12.0),
        ({"X-RateLimit-Reset": "999990"}, 0.0),
        ({"X-RateLimit-Reset": "soon"}, None),
        ({}, None),
    ],
)
def test_sendgrids_rate_limit_headers_say_how_long_to_wait(headers, wait):
    assert sendgrid_retry_after(headers, now=1_000_000) == wait
