"""The plugin's secrets: Twilio's webhooks are verified with the token the senders use (the Airflow
connection), and what the plugin will refuse for want of a secret is said when it starts."""

from __future__ import annotations

import logging

import pytest
from airflow.sdk import Connection
from fastapi.testclient import TestClient

from outreach.ledger import Ledger
from outreach.sandbox.signing import twilio_signature

FORM = {"MessageSid": "SM0123", "MessageStatus": "delivered"}
URL = "http://testserver/twilio/status?step=k3XbQ9vR2mPzT8wL"


@pytest.fixture
def plugin(monkeypatch, tmp_path):
    for name in ("TWILIO_AUTH_TOKEN", "OUTREACH_SANDBOX_URL", "OUTREACH_CALLBACK_BASE_URL", "OUTREACH_PAYMENTS_SECRET"):
        monkeypatch.delenv(name, raising=False)
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.create_schema()
    monkeypatch.setenv("OUTREACH_LEDGER_URL", str(ledger.engine.url))

    def start(token_in_connection: str | None):
        if token_in_connection is None:
            monkeypatch.delenv("AIRFLOW_CONN_TWILIO_DEFAULT", raising=False)
        else:
            connection = Connection(
                conn_id="twilio_default", conn_type="http", login="AC1", password=token_in_connection
            )
            monkeypatch.setenv("AIRFLOW_CONN_TWILIO_DEFAULT", connection.as_json())
        from outreach_plugin import create_app

        return TestClient(create_app())

    yield start
    ledger.dispose()


def post(client, token: str):
    return client.post(URL, data=FORM, headers={"X-Twilio-Signature": twilio_signature(token, URL, FORM)})


def test_twilio_webhooks_are_verified_with_the_token_in_the_connection(plugin, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "an-older-token-in-the-environment")
    client = plugin("5f4dcc3b5aa765d61d8327deb882cf99")
    assert post(client, "5f4dcc3b5aa765d61d8327deb882cf99").status_code == 404, "verified; no such message"
    assert post(client, "an-older-token-in-the-environment").status_code == 403


@pytest.mark.parametrize("token", [None, "", "change-me-twilio-token"])
def test_with_no_usable_token_anywhere_every_twilio_webhook_is_refused(plugin, token):
    client = plugin(token)
    for key in (token or "", "sandbox-auth-token", "change-me-twilio-token"):
        assert post(client, key).status_code == 403


def test_the_plugin_says_at_start_up_what_it_will_refuse(plugin, caplog):
    with caplog.at_level(logging.ERROR):
        plugin(None)
    assert "will refuse every request for payment notices (OUTREACH_PAYMENTS_SECRET" in caplog.text
