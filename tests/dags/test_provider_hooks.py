"""The provider hooks: connection in, client and channel settings out (no database involved)."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from outreach.channels.providers import ProviderSettings


@pytest.fixture
def connections(monkeypatch):
    twilio = Connection(
        conn_id="twilio_default",
        conn_type="http",
        login="AC123",
        password="token",
        host="http://127.0.0.1:8765",
        extra=json.dumps({"sms_from": "+15005550006"}),
    )
    sendgrid = Connection(
        conn_id="sendgrid_default",
        conn_type="http",
        password="SG.key",
        host="",
        extra=json.dumps({"from_email": "collections@example.com", "unsubscribe_group": 7}),
    )
    monkeypatch.setenv("AIRFLOW_CONN_TWILIO_DEFAULT", twilio.as_json())
    monkeypatch.setenv("AIRFLOW_CONN_SENDGRID_DEFAULT", sendgrid.as_json())


def test_the_twilio_hook_points_the_sdk_at_the_connection_host(connections):
    from outreach_hooks import TwilioHook

    client = TwilioHook().get_conn()
    assert client.username == "AC123"
    assert client.http_client.base_url == "http://127.0.0.1:8765"


def test_the_sendgrid_hook_defaults_to_the_real_api(connections):
    from outreach_hooks import SendGridHook

    assert SendGridHook().get_conn().host == "https://api.sendgrid.com"


def test_channel_settings_come_from_the_connections(connections):
    from outreach_hooks import provider_environment

    settings = ProviderSettings.from_env(provider_environment())
    assert (settings.twilio_account_sid, settings.twilio_auth_token) == ("AC123", "token")
    assert settings.twilio_base_url == "http://127.0.0.1:8765"
    assert (settings.sms_from, settings.voice_from) == ("+15005550006", "+15005550006")
    assert (settings.sendgrid_api_key, settings.email_from, settings.unsubscribe_group_id) == (
        "SG.key",
        "collections@example.com",
        7,
    )


def test_a_connection_written_as_a_uri_keeps_its_scheme_and_port(monkeypatch):
    from outreach_hooks import TwilioHook, provider_environment

    monkeypatch.setenv("AIRFLOW_CONN_TWILIO_DEFAULT", "http://AC123:token@sandbox.internal:4010")
    monkeypatch.setenv("AIRFLOW_CONN_SENDGRID_DEFAULT", "https://:SG.key@mail-proxy.internal:8443")
    assert TwilioHook().get_conn().http_client.base_url == "http://sandbox.internal:4010"
    env = provider_environment()
    assert (env["TWILIO_BASE_URL"], env["SENDGRID_BASE_URL"]) == (
        "http://sandbox.internal:4010",
        "https://mail-proxy.internal:8443",
    )


def test_without_the_connections_the_environment_serves(monkeypatch):
    from outreach_hooks import provider_environment

    monkeypatch.delenv("AIRFLOW_CONN_TWILIO_DEFAULT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SENDGRID_DEFAULT", raising=False)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "from-the-environment")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.from-the-environment")
    env = provider_environment()
    assert (env["TWILIO_AUTH_TOKEN"], env["SENDGRID_API_KEY"]) == ("from-the-environment", "SG.from-the-environment")
