"""The TwiML Twilio fetches for a call: the reminder for a person, a limited-content message for a machine."""

from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from outreach import pipeline
from outreach.sample import write_sample
from outreach.sandbox.signing import twilio_signature
from outreach.web.voice import router
from tests.days import plan_all

DAY = date(2026, 11, 20)


@pytest.fixture
def call_step(sqlite_ledger, settings_for, tmp_path, monkeypatch):
    book = tmp_path / "accounts.csv"
    write_sample(book, DAY, accounts=200)
    settings = settings_for(sqlite_ledger, book)
    plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    monkeypatch.setenv("OUTREACH_LEDGER_URL", settings.ledger_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    monkeypatch.delenv("OUTREACH_CALLBACK_BASE_URL", raising=False)
    steps = sqlite_ledger.steps(DAY)
    return steps[(steps["channel"] == "voice") & (steps["status"] == "pending")].iloc[0]


def fetch(step_key: str, answered_by: str, token: str = "secret"):
    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    url = "http://testserver/twilio/voice?step=" + step_key.replace("|", "%7C")
    form = {"CallSid": "CA1", "AnsweredBy": answered_by, "CallStatus": "in-progress"}
    return client.post(url, data=form, headers={"X-Twilio-Signature": twilio_signature(token, url, form)})


def test_a_person_hears_the_reminder_and_a_keypress_menu(call_step):
    response = fetch(call_step["step_key"], "human")
    assert response.status_code == 200
    assert '<Gather numDigits="1"' in response.text
    assert "Press 1" in response.text or "按1" in response.text
    assert "/twilio/gather?step=" in response.text


def test_an_answering_machine_gets_only_a_limited_content_message(call_step):
    response = fetch(call_step["step_key"], "machine_end_beep")
    assert response.status_code == 200
    assert "<Gather" not in response.text
    for word in ("past due", "payment", "$", "逾期", "欠款"):
        assert word not in response.text


def test_a_forged_request_is_refused_and_reads_nothing(call_step):
    assert fetch(call_step["step_key"], "human", token="not-the-token").status_code == 403
