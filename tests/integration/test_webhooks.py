"""Provider webhooks against the plugin's endpoints: authenticated, idempotent, and effective at once."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from outreach.ledger.schema import events as event_rows
from outreach.sandbox.signing import SendGridSigner, twilio_signature
from outreach.web import webhooks
from tests.days import dispatched_sample_day

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


@pytest.fixture
def env(ledger, settings_for, tmp_path, monkeypatch):
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    ref = dispatched_sample_day(settings, DAY, NOON)
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


def test_a_callback_and_its_retries_in_flight_at_once_are_recorded_once_without_an_error(env, ledger):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from tests.servers import serve

    client, _, _, _ = env
    step = sent_step(ledger, "sms")
    with serve(client.app) as url:
        path = "/twilio/status?step=" + step["step_key"].replace("|", "%7C")
        form = {"MessageSid": step["provider_message_id"], "MessageStatus": "delivered"}
        headers = {"X-Twilio-Signature": twilio_signature("secret", url + path, form)}
        with ThreadPoolExecutor(8) as pool, httpx.Client() as http:
            answers = list(pool.map(lambda _: http.post(url + path, data=form, headers=headers).status_code, range(24)))
    assert answers == [204] * 24, "a retry racing the original is not a server error"
    with ledger.engine.connect() as conn:
        recorded = conn.execute(
            select(func.count()).select_from(event_rows).where(event_rows.c.step_key == step["step_key"])
        ).scalar()
    assert recorded == 1


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
    assert "TWILIO_AUTH_TOKEN) is missing, empty or a placeholder" in caplog.text


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

    def recorded() -> int:
        with ledger.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(event_rows)).scalar()

    before = recorded()
    form = {"MessageSid": "SM0000", "MessageStatus": "undelivered"}
    response = twilio_post(client, "/twilio/status?step=AC0%7Cm1%7Cx%7Csms%7C2026-11-20", form)
    assert response.status_code == 404
    assert recorded() == before


def test_the_policy_reads_a_receipt_as_its_sends_outcome_not_as_a_contact_of_its_own(env, ledger):
    client, _, _, _ = env
    step = sent_step(ledger, "sms")
    path = "/twilio/status?step=" + step["step_key"].replace("|", "%7C")
    for status in ("sent", "undelivered"):
        form = {"MessageSid": step["provider_message_id"], "MessageStatus": status, "ErrorCode": "30005"}
        assert twilio_post(client, path, form).status_code == 204
    history = ledger.contact_events(datetime(2026, 1, 1, tzinfo=UTC), [step["account_id"]])
    texts = history[history["channel"] == "sms"]
    # Receipts are kept in the ledger, but the contact history holds the text once, with how it went.
    assert list(texts["kind"]) == ["attempt"] and list(texts["outcome"]) == ["undelivered"]


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


def test_a_replayed_start_never_lifts_a_later_stop(env, ledger):
    """Twilio retries a webhook it got no answer to; each reply counts once, by its MessageSid."""
    client, _, _, _ = env
    number = "+12025550166"

    def reply(sid: str, body: str):
        form = {"MessageSid": sid, "From": number, "To": "+15005550006", "Body": body}
        assert twilio_post(client, "/twilio/inbound", form).status_code == 200

    def stopped() -> bool:
        """Texting the number is stopped (a START gives back the texts only; the calls stay revoked)."""
        active = ledger.active_suppressions(datetime.now(UTC))
        texts = active[(active["address"] == number) & (active["channel"].isna() | (active["channel"] == "sms"))]
        return "tcpa_revoked" in set(texts["reason"])

    reply("SM-stop-1", "STOP")
    reply("SM-start-2", "START")
    assert not stopped()
    reply("SM-stop-3", "STOP")
    reply("SM-start-2", "START")  # the earlier START, delivered again
    assert stopped(), "the later STOP holds"
    with ledger.engine.connect() as conn:
        recorded = conn.execute(
            select(func.count()).where(event_rows.c.kind == "inbound", event_rows.c.address == number)
        ).scalar()
    assert recorded == 3, "the replay is not recorded again"


def test_a_start_sent_before_a_stop_but_delivered_after_it_does_not_lift_it(env, ledger, sandbox, monkeypatch):
    """Twilio's inbound webhook has no time: the plugin asks Twilio when each opt-out and opt-in was sent."""
    from tests.servers import serve

    client, _, _, _ = env
    number = "+12025550177"
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", sandbox.url)
    with serve(client.app) as url:
        sandbox.configure(auth_token="secret", inbound_sms_url=f"{url}/twilio/inbound")
        sandbox.inbound(number, "+15005550006", "STOP", sent_at="2026-11-20T16:05:00+00:00")
        sandbox.inbound(number, "+15005550006", "START", sent_at="2026-11-20T16:00:00+00:00")
        sandbox.flush()
    active = ledger.active_suppressions(datetime(2026, 11, 20, 17, tzinfo=UTC))
    texts = active[(active["address"] == number) & (active["channel"] == "sms")]
    assert {"electronic_address_opt_out", "tcpa_revoked"} <= set(texts["reason"]), "the person's last word was STOP"
    with ledger.engine.connect() as conn:
        sent = conn.execute(
            select(event_rows.c.occurred_at).where(event_rows.c.address == number).order_by(event_rows.c.occurred_at)
        ).scalars()
        assert [str(at)[:16] for at in sent] == ["2026-11-20 16:00", "2026-11-20 16:05"], "recorded at Twilio's times"


def signed_events(signer, events: list) -> tuple[str, dict[str, str]]:
    body = json.dumps(events)
    stamp = str(int(time.time()))
    return body, {
        "X-Twilio-Email-Event-Webhook-Signature": signer.sign(stamp, body),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def test_a_malformed_event_in_a_signed_batch_is_set_aside_and_the_rest_recorded(env, ledger):
    client, signer, _, _ = env
    emails = ledger.attempts_for(DAY).query("channel == 'email' and status == 'sent'")
    first, second = emails.iloc[0], emails.iloc[1]
    now = int(time.time())
    batch = [
        {"event": "delivered", "timestamp": now, "sg_message_id": "m.1", "step_key": first["step_key"]},
        {"event": "bounce", "timestamp": "yesterday", "sg_event_id": "bad-1", "step_key": second["step_key"]},
        {"event": "open", "timestamp": now, "sg_message_id": "m.1", "step_key": first["step_key"]},
        "not an event",
        {"event": "delivered", "timestamp": now, "sg_message_id": "m.2", "step_key": second["step_key"]},
    ]
    body, headers = signed_events(signer, batch)
    response = client.post("/sendgrid/events", content=body, headers=headers)
    assert response.status_code == 204, "SendGrid must not retry the good events with the bad ones"
    attempts = ledger.attempts_for(DAY).set_index("step_key")
    assert attempts.loc[first["step_key"], "status"] == "delivered"
    assert attempts.loc[second["step_key"], "status"] == "delivered"
    # Events without SendGrid's id are told apart by what they say, not collapsed into one.
    kinds = [e["outcome"] for e in ledger.account_timeline(first["account_id"])["events"].to_dict("records")]
    assert {"delivered", "open"} <= set(kinds)
    # The two items that could not be read wait for a person, with what was wrong.
    rejected = ledger.quarantined("sendgrid_event_webhook")
    assert [row["line"] for row in rejected] == [2, 4] and rejected[0]["field"] == "timestamp"
    assert all(row["source"] == "SendGrid event webhook" for row in rejected)
    # A replay of the batch records nothing twice.
    client.post("/sendgrid/events", content=body, headers=signed_events(signer, batch)[1])
    assert len(ledger.account_timeline(first["account_id"])["events"]) == len(kinds)


def test_a_calls_recording_is_kept_on_its_attempt_and_a_forged_one_changes_nothing(env, ledger):
    client, _, _, _ = env
    step = sent_step(ledger, "voice")
    path = "/twilio/recording-status?step=" + step["step_key"].replace("|", "%7C")
    form = {"CallSid": step["provider_message_id"], "RecordingSid": "RE0123", "RecordingStatus": "completed"}
    assert twilio_post(client, path, form, token="forged").status_code == 403
    assert ledger.attempts_for(DAY).set_index("step_key").loc[step["step_key"], "recording_ref"] is None
    assert twilio_post(client, path, form).status_code == 204
    assert ledger.attempts_for(DAY).set_index("step_key").loc[step["step_key"], "recording_ref"] == "RE0123"
    assert twilio_post(client, "/twilio/recording-status?step=nope", form).status_code == 404


def test_a_stop_to_a_toll_free_number_is_confirmed_by_the_carrier_not_by_us(env, ledger):
    client, _, _, _ = env
    snapshot = ledger.snapshot(DAY)
    numbers = snapshot.loc[snapshot["mobile_phone"].notna(), "mobile_phone"].iloc[:2].tolist()
    for number, ours in zip(numbers, ("+18885550100", "+12125550100"), strict=True):
        form = {"From": number, "To": ours, "Body": "STOP"}
        assert twilio_post(client, "/twilio/inbound", form).status_code == 200
    with ledger.engine.connect() as conn:
        replies = conn.execute(select(event_rows.c.address, event_rows.c.payload).where(event_rows.c.kind == "inbound"))
        confirm = {address: payload["confirm"] for address, payload in replies}
    assert confirm == {numbers[0]: False, numbers[1]: True}
