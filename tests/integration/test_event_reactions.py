"""Events that change what happens next: payments, delivery failures, STOP replies and keypresses."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from outreach import pipeline
from outreach.payments import sign
from outreach.sandbox.signing import twilio_signature
from outreach.web import payment_notices, voice, webhooks
from tests.days import Book

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # noon in New York
SECRET = "bank-shared-secret"
M1_DUE = DAY - timedelta(days=5)


@pytest.fixture
def book(tmp_path):
    return Book(tmp_path / "accounts.csv")


@pytest.fixture
def world(ledger, settings_for, book, monkeypatch):
    """A ledger, the plugin's endpoints in front of it, and a way to run the day."""
    settings = settings_for(ledger, book.path)
    monkeypatch.setenv("OUTREACH_LEDGER_URL", settings.ledger_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    monkeypatch.setenv("OUTREACH_PAYMENTS_SECRET", SECRET)
    monkeypatch.delenv("OUTREACH_CALLBACK_BASE_URL", raising=False)
    announced: list[int] = []
    app = FastAPI()
    for router in (webhooks.router, voice.router, payment_notices.router):
        app.include_router(router)
    app.state.announce_events = announced.append
    app.state.announce_window = 0  # each announcement at once, to see which requests make one

    class World:
        client = TestClient(app)

        def plan(self, campaign="m1_self_service"):
            book.write()
            ref = pipeline.segment(pipeline.pull(DAY, f"scheduled__{DAY}", settings), settings)
            return pipeline.plan(ref, campaign, settings)

        def dispatch(self, ref, now=NOON):
            return pipeline.dispatch_due(ref, settings, now=now)

        def react(self, now=NOON, run="events__1"):
            ref = pipeline.react(run, settings, now=now)
            return pipeline.dispatch_wave(ref, now, settings=settings)

    world = World()
    world.settings = settings
    world.announced = announced
    return world


def twilio_post(client, path: str, form: dict[str, str]):
    url = "http://testserver" + path
    return client.post(url, data=form, headers={"X-Twilio-Signature": twilio_signature("secret", url, form)})


def pay(client, body: dict, secret: str = SECRET, stamp: int | None = None):
    raw = json.dumps(body).encode()
    timestamp = str(stamp if stamp is not None else int(time.time()))
    headers = {
        "X-Outreach-Timestamp": timestamp,
        "X-Outreach-Signature": sign(secret, timestamp, raw),
        "Content-Type": "application/json",
    }
    return client.post("http://testserver/payments", content=raw, headers=headers)


def payment(account_id="AC00001", payment_id="P-1", amount="125.00", paid_at=NOON):
    return {
        "payment_id": payment_id,
        "account_id": account_id,
        "amount": amount,
        "currency": "USD",
        "paid_at": paid_at.isoformat(),
    }


def step_of(ledger, account_id: str, stage: str, channel: str):
    steps = ledger.steps(DAY).set_index("step_key")
    return steps.loc[f"{account_id}|m1_self_service|{stage}|{channel}|{DAY}"]


# -- payments ---------------------------------------------------------------------------


def test_a_signed_payment_stops_the_accounts_pending_steps_and_is_credited_to_the_last_contact(world, ledger, book):
    book.add("AC00001", M1_DUE)
    book.add("AC00002", M1_DUE)
    ref = world.plan()
    world.dispatch(ref)
    # Tomorrow's step is pending when the payment arrives the evening before.
    ledger.set_step_status(
        [{"step_key": step_of(ledger, "AC00002", "reminder-sms", "sms").name, "status": "pending", "status_reason": ""}]
    )
    sent = ledger.account_timeline("AC00001")["attempts"]["step_key"].tolist()

    # Sends are stamped with the real clock; the payment comes after them.
    paid_at = datetime.now(UTC)
    response = pay(world.client, payment("AC00001", paid_at=paid_at))
    assert response.status_code == 204
    paid = ledger.account_timeline("AC00001")
    assert world.announced, "the events DAG is told at once"
    with ledger.engine.connect() as conn:
        from sqlalchemy import select

        from outreach.ledger.schema import payments

        (row,) = conn.execute(select(payments)).mappings().all()
    assert (row["amount_minor"], row["source"], row["credited_step_key"]) == (12_500, "bank_webhook", sent[-1])
    assert "payment" in set(paid["events"]["kind"])

    again = pay(world.client, payment("AC00001", paid_at=paid_at))
    assert again.status_code == 200 and again.json() == {"recorded": False, "reason": "payment P-1 recorded before"}


def test_an_evening_payment_belongs_to_that_business_day_not_the_utc_one(world, ledger, book):
    from sqlalchemy import select

    from outreach.ledger.schema import payments

    book.add("AC00001", M1_DUE)
    world.plan()
    # 20:30 in New York on the 20th is already the 21st in UTC.
    evening = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
    assert pay(world.client, payment("AC00001", paid_at=evening)).status_code == 204
    with ledger.engine.connect() as conn:
        assert conn.execute(select(payments.c.paid_on)).scalar() == DAY


def test_pending_steps_of_a_paid_account_are_held_with_the_payment_as_reason(world, ledger, book):
    book.add("AC00001", M1_DUE)
    world.plan()
    assert step_of(ledger, "AC00001", "reminder-sms", "sms")["status"] == "pending"
    assert pay(world.client, payment("AC00001")).status_code == 204
    step = step_of(ledger, "AC00001", "reminder-sms", "sms")
    assert step["status"] == "held"
    assert step["status_reason"] == "payment of USD 125.00 received 2026-11-20 17:00 UTC: outreach stops"
    assert (
        world.dispatch({"run_id": "r", "business_date": DAY.isoformat(), "campaign": "m1_self_service"})["dispatch"][
            "due"
        ]
        == 0
    )


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"secret": "forged"}, 403, "invalid signature"),
        ({"stamp": int(time.time()) - 3600}, 403, "stale signature"),
    ],
    ids=["forged", "replayed-an-hour-later"],
)
def test_a_payment_not_signed_by_the_bank_changes_nothing(world, ledger, book, change, status, reason):
    book.add("AC00001", M1_DUE)
    world.plan()
    response = pay(world.client, payment("AC00001"), **change)
    assert (response.status_code, response.text) == (status, reason)
    assert step_of(ledger, "AC00001", "reminder-sms", "sms")["status"] == "pending"
    assert not world.announced


def test_a_malformed_payment_is_refused_with_the_field_named(world):
    response = pay(world.client, {**payment(), "amount": "-5", "currency": "dollars"})
    assert response.status_code == 400
    assert "amount" in response.text and "currency" in response.text


def recorded_payments(ledger) -> list[dict]:
    from sqlalchemy import select

    from outreach.ledger.schema import payments

    with ledger.engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(payments)).mappings()]


@pytest.mark.parametrize(("amount", "currency", "minor"), [("1000", "JPY", 1000), ("125.50", "USD", 12_550)])
def test_a_payment_is_kept_in_its_currencys_own_minor_units(world, ledger, book, amount, currency, minor):
    book.add("AC00001", M1_DUE)
    world.plan()
    assert pay(world.client, {**payment("AC00001", amount=amount), "currency": currency}).status_code == 204
    (row,) = recorded_payments(ledger)
    assert (row["amount_minor"], row["currency"]) == (minor, currency)


@pytest.mark.parametrize(("amount", "currency"), [("1000.50", "JPY"), ("12.345", "USD"), ("10.00", "XTS")])
def test_an_amount_its_currency_cannot_hold_is_refused_with_the_field_named(world, ledger, amount, currency):
    response = pay(world.client, {**payment(amount=amount), "currency": currency})
    assert response.status_code == 400 and ("amount" in response.text or "currency" in response.text)
    assert recorded_payments(ledger) == []


def test_a_payment_for_an_account_the_ledger_does_not_know_is_kept_for_a_person(world, ledger, book):
    book.add("AC00001", M1_DUE)
    world.plan()
    response = pay(world.client, payment("AC99999", payment_id="P-stray"))
    assert response.status_code == 202 and "AC99999" not in response.text
    assert [row["reference"] for row in recorded_payments(ledger)] == ["P-stray"], "the money is a fact: kept"
    (noted,) = ledger.quarantined("payment_notices")
    assert noted["field"] == "account_id" and "P-stray" in noted["reason"] and "no account" in noted["reason"]


def test_without_a_configured_secret_every_payment_is_refused(world, monkeypatch):
    monkeypatch.delenv("OUTREACH_PAYMENTS_SECRET")
    response = pay(world.client, payment())
    assert response.status_code == 403 and "not configured" in response.text


def test_a_payment_during_a_dispatch_batch_stops_the_later_batches(world, ledger, book):
    """The dispatcher claims batch by batch; a payment between two claims stops the rest."""
    from outreach.dispatcher import channels_for, dispatch
    from outreach.messages import renderer_for
    from outreach.payments import PaymentNotice, record_payment

    for n in range(1, 5):
        book.add(f"AC0000{n}", M1_DUE)
    ref = world.plan()
    channels = channels_for("log", world.settings.outbox_dir, DAY)
    texts = channels["sms"]

    class PaidMidway:
        """The text channel, with the bank's payment for AC00004 landing after the first batch."""

        kind = texts.kind if hasattr(texts, "kind") else "sms"

        def __getattr__(self, name):
            return getattr(texts, name)

        def send(self, messages):
            results = texts.send(messages)
            notice = PaymentNotice.model_validate(payment("AC00004"))
            record_payment(ledger, notice, NOON, "America/New_York")
            return results

    channels["sms"] = PaidMidway()
    day = pipeline.business_day(DAY, "America/New_York")
    dispatch(
        ledger,
        day,
        ref["run_id"],
        channels,
        renderer_for(world.settings.home),
        now=NOON,
        batch_size=1,
        campaign="m1_self_service",
    )
    texted = set(ledger.attempts_for(DAY).query("channel == 'sms'")["account_id"])
    assert "AC00004" not in texted and "AC00001" in texted
    assert step_of(ledger, "AC00004", "reminder-sms", "sms")["status"] == "held"


# -- delivery failures, replies and keypresses -------------------------------------------------


def test_an_undelivered_text_falls_back_to_email_the_same_day(world, ledger, book):
    book.add("AC00001", M1_DUE)
    world.dispatch(world.plan())
    step = step_of(ledger, "AC00001", "reminder-sms", "sms")
    attempt = ledger.account_timeline("AC00001")["attempts"].iloc[0]
    path = "/twilio/status?step=" + step.name.replace("|", "%7C")
    form = {"MessageSid": attempt["provider_message_id"], "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert twilio_post(world.client, path, form).status_code == 204
    assert world.announced

    world.react()
    fallback = step_of(ledger, "AC00001", "reminder-sms", "email")
    assert fallback["status"] == "sent"
    reasons = ledger.account_timeline("AC00001")["decisions"]["reason"].tolist()
    assert any("reminder-sms (sms) undelivered: falling back to email the same day" in r for r in reasons)
    assert ledger.positions(["AC00001"])["AC00001"].fallback_used

    world.react(run="events__2")
    assert len(ledger.account_timeline("AC00001")["attempts"]) == 2, "each event is reacted to once"


def test_stop_gets_one_confirmation_and_then_nothing_more(world, ledger, book):
    from outreach.events import record_reply

    book.add("AC00001", M1_DUE)
    world.dispatch(world.plan())
    number = ledger.snapshot(DAY).set_index("account_id").loc["AC00001", "mobile_phone"]
    # Recorded as the inbound endpoint records it, at a fixed afternoon instant (the window is open).
    stop_at = NOON + timedelta(hours=1)
    record_reply(ledger, "AC00001", "sms", number, "STOP", stop_at)
    world.react(now=stop_at + timedelta(minutes=1))
    confirmation = ledger.steps(DAY).query("template == 'opt_out_confirmation'")
    assert confirmation["status"].tolist() == ["sent"], confirmation["status_reason"].tolist()

    record_reply(ledger, "AC00001", "sms", number, "stop", stop_at + timedelta(minutes=2))
    world.react(now=stop_at + timedelta(minutes=3), run="events__2")
    texts = ledger.account_timeline("AC00001")["attempts"].query("channel == 'sms'")
    assert len(texts) == 2, "the reminder and a single confirmation; nothing after the opt-out"
    reasons = ledger.steps(DAY).query("template == 'opt_out_confirmation'")["reason"].tolist()
    assert len(reasons) == 1, "the second STOP plans no second confirmation step for the day"


@pytest.mark.parametrize(("digit", "channel"), [("1", "sms"), ("2", "agent_queue")])
def test_a_keypress_during_the_call_sends_the_link_or_asks_an_agent(world, ledger, book, digit, channel):
    book.add("AC90001", DAY - timedelta(days=40))
    world.dispatch(world.plan("m2_plus"))
    attempt = ledger.account_timeline("AC90001")["attempts"].iloc[0]
    assert attempt["channel"] == "voice"
    path = "/twilio/gather?step=" + attempt["step_key"].replace("|", "%7C")
    response = twilio_post(world.client, path, {"CallSid": attempt["provider_message_id"], "Digits": digit})
    assert response.status_code == 200 and "<Say" in response.text

    world.react()
    (reaction,) = ledger.steps(DAY).query("stage == 'on-request'").to_dict("records")
    assert (reaction["channel"], reaction["status"]) == (channel, "sent")
    if channel == "agent_queue":
        assert ledger.handoffs(kind=["agent_queue"])["account_id"].tolist() == ["AC90001"]


def test_a_keypress_for_an_unknown_call_is_not_found(world):
    response = twilio_post(world.client, "/twilio/gather?step=nope", {"CallSid": "CA1", "Digits": "1"})
    assert response.status_code == 404


def test_a_receipt_that_beats_the_send_s_own_answer_is_kept(world, ledger, book):
    """The provider may call back before the dispatcher records what the send request returned."""
    from outreach.events import record_twilio_status

    book.add("AC00001", M1_DUE)
    world.plan()
    step = step_of(ledger, "AC00001", "reminder-sms", "sms")
    assert ledger.claim([{"step_key": step.name, "account_id": "AC00001", "channel": "sms"}], "run") == {step.name}
    record_twilio_status(ledger, step.name, {"MessageSid": "SM1", "MessageStatus": "delivered"}, NOON)
    ledger.complete_attempts([{"step_key": step.name, "status": "sent", "provider_message_id": "SM1"}])
    (attempt,) = ledger.account_timeline("AC00001")["attempts"].to_dict("records")
    assert (attempt["status"], attempt["provider_message_id"]) == ("delivered", "SM1")
