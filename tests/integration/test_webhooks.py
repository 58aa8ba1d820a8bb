"""Provider webhooks against the plugin's endpoints: authenticated, idempotent, and effective at once."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from outreach import pipeline
from outreach.sample import write_sample
from outreach.sandbox.signing import SendGridSigner, twilio_signature
from outreach.web import webhooks
from tests.days import plan_all

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


@pytest.fixture
def env(ledger, settings_for, tmp_path, monkeypatch):
    book = tmp_path / "accounts.csv"
    write_sample(book, DAY, accounts=200)
    settings = settings_for(ledger, book)
    ref = plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    pipeline.dispatch_due(ref, settings, now=NOON)
    signer = SendGridSigner()
    monkeypatch.setenv("OUTREACH_LEDGER_URL", settings.ledger_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    monkeypatch.setenv("OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY", signer.public_key)
    monkeypatch.delenv("OUTREACH_CALLBACK_BASE_URL", raising=False)
    app = FastAPI()
    app.include_router(webhooks.router)
    return TestClient(app), signer, settings, ref


def twilio_post(client, path: str, form: dict[str, str], token: str = "secret"):
    url = "http://testserver" + path
    return client.post(url, data=form, headers={"X-Twilio-Signature": twilio_signature(token, url, form)})


def sent_step(ledger, channel: str):
    attempts = ledger.attempts_for(DAY)
    return attempts[(attempts["channel"] == channel) & (attempts["status"] == "sent")].iloc[0]


def test_a_delivery_receipt_is_recorded_once(env, ledger):
    client, _, _, _ = env
    step = sent_step(ledger, "sms")
    path = "/twilio/status?step=" + step["step_key"].replace("|", "%7C")
    form = {"MessageSid": step["provider_message_id"], "MessageStatus": "delivered"}
    assert twilio_post(client, path, form).status_code == 204
    assert twilio_post(client, path, form).status_code == 204
    attempts = ledger.attempts_for(DAY).set_index("step_key")
    assert attempts.loc[step["step_key"], "status"] == "delivered"


def test_forged_or_malformed_requests_change_nothing(env, ledger):
    client, _, _, _ = env
    step = sent_step(ledger, "sms")
    path = "/twilio/status?step=" + step["step_key"].replace("|", "%7C")
    form = {"MessageSid": step["provider_message_id"], "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert twilio_post(client, path, form, token="forged").status_code == 403
    assert client.post("http://testserver" + path, data=form).status_code == 403
    assert twilio_post(client, "/twilio/status", form).status_code == 400
    assert ledger.attempts_for(DAY).set_index("step_key").loc[step["step_key"], "status"] == "sent"


@pytest.mark.parametrize("configured", [None, "", "   ", "change-me-twilio-token"])
def test_without_a_real_auth_token_every_twilio_webhook_is_refused(env, ledger, monkeypatch, configured, caplog):
    """No token, an empty one or the example file's placeholder: nothing verifies, not even a default key."""
    client, _, _, _ = env
    if configured is None:
        monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    else:
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", configured)
    monkeypatch.delenv("OUTREACH_SANDBOX_URL", raising=False)
    step = sent_step(ledger, "sms")
    path = "/twilio/status?step=" + step["step_key"].replace("|", "%7C")
    form = {"MessageSid": step["provider_message_id"], "MessageStatus": "undelivered", "ErrorCode": "30003"}
    for key in ("sandbox-auth-token", configured or "", "forged"):
        assert twilio_post(client, path, form, token=key).status_code == 403
    stop = {"MessageSid": "SMforged", "From": "+12125550142", "To": "+15005550006", "Body": "STOP"}
    assert twilio_post(client, "/twilio/inbound", stop, token="sandbox-auth-token").status_code == 403
    assert ledger.attempts_for(DAY).set_index("step_key").loc[step["step_key"], "status"] == "sent"
    assert ledger.active_suppressions(datetime.now(UTC)).query("address == '+12125550142'").empty
    assert "TWILIO_AUTH_TOKEN is missing, empty or a placeholder" in caplog.text


def test_stop_by_text_suppresses_the_number_at_once(env, ledger):
    client, _, settings, ref = env
    snapshot = ledger.snapshot(DAY)
    number = snapshot.loc[snapshot["mobile_phone"].notna(), "mobile_phone"].iloc[0]
    response = twilio_post(client, "/twilio/inbound", {"From": number, "To": "+15005550006", "Body": "stop texting me"})
    assert response.status_code == 200
    active = ledger.active_suppressions(datetime.now(UTC))
    assert {"electronic_address_opt_out", "tcpa_revoked"} <= set(active.loc[active["address"] == number, "reason"])


def test_signed_email_events_suppress_bounced_addresses(env, ledger):
    client, signer, _, _ = env
    step = sent_step(ledger, "email")
    events = [
        {
            "email": "x@example.com",
            "event": "bounce",
            "timestamp": int(time.time()),
            "sg_event_id": "e1",
            "sg_message_id": "m.0",
            "step_key": step["step_key"],
        }
    ]
    body = json.dumps(events)
    stamp = str(int(time.time()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": signer.sign(stamp, body),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "Content-Type": "application/json",
    }
    assert client.post("/sendgrid/events", content=body, headers=headers).status_code == 204
    assert (
        client.post("/sendgrid/events", content=body.replace("bounce", "delivered"), headers=headers).status_code == 403
    )
    old = str(int(time.time()) - 3600)
    stale = {
        **headers,
        "X-Twilio-Email-Event-Webhook-Timestamp": old,
        "X-Twilio-Email-Event-Webhook-Signature": signer.sign(old, body),
    }
    assert client.post("/sendgrid/events", content=body, headers=stale).status_code == 403
    active = ledger.active_suppressions(datetime.now(UTC))
    blocked = active[(active["account_id"] == step["account_id"]) & (active["channel"] == "email")]
    assert list(blocked["reason"]) == ["provider_block"]


def test_a_receipt_arriving_before_the_sent_callback_is_not_undone_by_it(env, ledger):
    client, _, _, _ = env
    step = sent_step(ledger, "sms")
    path = "/twilio/status?step=" + step["step_key"].replace("|", "%7C")
    sid = step["provider_message_id"]
    assert twilio_post(client, path, {"MessageSid": sid, "MessageStatus": "delivered"}).status_code == 204
    assert twilio_post(client, path, {"MessageSid": sid, "MessageStatus": "sent"}).status_code == 204
    assert ledger.attempts_for(DAY).set_index("step_key").loc[step["step_key"], "status"] == "delivered"


def test_a_callback_for_an_unknown_step_is_not_found_and_records_nothing(env, ledger):
    client, _, _, _ = env
    before = len(ledger.contact_events(datetime(2026, 1, 1, tzinfo=UTC)))
    form = {"MessageSid": "SM0000", "MessageStatus": "undelivered"}
    response = twilio_post(client, "/twilio/status?step=AC0%7Cm1%7Cx%7Csms%7C2026-11-20", form)
    assert response.status_code == 404
    assert len(ledger.contact_events(datetime(2026, 1, 1, tzinfo=UTC))) == before


def test_a_text_is_matched_to_the_account_last_texted_at_that_number(env, ledger):
    step = sent_step(ledger, "sms")
    planned = ledger.steps(DAY).set_index("step_key").loc[step["step_key"]]
    assert ledger.account_with_mobile(planned["contact_address"]) == step["account_id"]

    snapshot = ledger.snapshot(DAY)
    texted = set(ledger.steps(DAY).query("channel == 'sms'")["contact_address"])
    untexted = snapshot[snapshot["mobile_phone"].notna() & ~snapshot["mobile_phone"].isin(texted)].iloc[0]
    assert ledger.account_with_mobile(untexted["mobile_phone"]) in set(
        snapshot.loc[snapshot["mobile_phone"] == untexted["mobile_phone"], "account_id"]
    )
    assert ledger.account_with_mobile("+12025550199") is None


def test_stop_from_a_number_no_account_lists_still_suppresses_the_number(env, ledger):
    client, _, _, _ = env
    stranger = "+12025550177"
    response = twilio_post(client, "/twilio/inbound", {"From": stranger, "To": "+15005550006", "Body": "STOP"})
    assert response.status_code == 200
    active = ledger.active_suppressions(datetime.now(UTC))
    held = active[active["address"] == stranger]
    assert not held.empty and held["account_id"].isna().all()
    assert "electronic_address_opt_out" in set(held["reason"])
