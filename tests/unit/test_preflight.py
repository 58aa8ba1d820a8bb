"""Start-up refusals: each secret a production deployment needs, and each setting that would contact
people unsafely, is refused with its name; the embedded defaults run without any of them."""

from __future__ import annotations

from datetime import date

import pytest

from outreach.cli import main
from outreach.dispatcher import channels_for
from outreach.preflight import (
    IDENTITY,
    PRODUCTION_SECRETS,
    PROVIDER_SECRETS,
    SECRETS,
    UnsafeDeployment,
    deployment_problems,
)
from tests.factories import PRODUCTION_SETTINGS

PRODUCTION = PRODUCTION_SETTINGS
PROVIDERS = {
    **PRODUCTION,
    "OUTREACH_CHANNELS": "providers",
    "OUTREACH_CALLBACK_BASE_URL": "https://ops.northwind-bank.com",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "5f4dcc3b5aa765d61d8327deb882cf99",
    "SENDGRID_API_KEY": "SG.k3y.v4lue",
    "OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
    "OUTREACH_SMS_FROM": "+16175550100",
    "OUTREACH_VOICE_FROM": "+16175550100",
    "OUTREACH_EMAIL_FROM": "collections@northwind-bank.com",
}


def named(problems) -> list[str]:
    return [problem.setting for problem in problems]


def test_the_embedded_defaults_need_no_secrets():
    assert deployment_problems({}) == []
    assert deployment_problems({"OUTREACH_CHANNELS": "sandbox", "OUTREACH_SMS_FROM": "+15005550006"}) == []


def test_a_complete_production_deployment_starts():
    assert deployment_problems(PRODUCTION) == []
    assert deployment_problems(PROVIDERS) == []


@pytest.mark.parametrize("name", sorted(SECRETS))
@pytest.mark.parametrize("value", ["change-me", "change-me-to-a-long-random-string", "<your token>", "xxxxxxxx"])
def test_a_placeholder_secret_is_refused_in_every_environment(name, value):
    for base in ({}, PROVIDERS):
        problems = deployment_problems({**base, name: value})
        assert name in named(problems) and "placeholder" in str(problems)


@pytest.mark.parametrize("name", [*PRODUCTION_SECRETS, *IDENTITY])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_production_refuses_to_start_without_each_secret_and_sender_identity(name, value):
    env = {k: v for k, v in PRODUCTION.items() if k != name}
    if value is not None:
        env[name] = value
    assert named(deployment_problems(env)) == [name]


@pytest.mark.parametrize("name", PROVIDER_SECRETS)
def test_real_providers_refuse_to_start_without_each_credential(name):
    env = {k: v for k, v in PROVIDERS.items() if k != name}
    assert named(deployment_problems(env)) == [name]


@pytest.mark.parametrize(
    "callback",
    [None, "http://ops.northwind-bank.com", "https://localhost:8080", "https://10.0.4.2", "https://ops.example.com"],
)
def test_real_providers_need_a_public_https_callback_url(callback):
    env = {k: v for k, v in PROVIDERS.items() if k != "OUTREACH_CALLBACK_BASE_URL"}
    if callback:
        env["OUTREACH_CALLBACK_BASE_URL"] = callback
    problems = deployment_problems(env)
    assert named(problems) == ["OUTREACH_CALLBACK_BASE_URL"]
    assert callback is not None or "answering-machine" in str(problems[0])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTREACH_SMS_FROM", "+15005550006"),
        ("OUTREACH_VOICE_FROM", "+15005550001"),
        ("OUTREACH_EMAIL_FROM", "collections@example.com"),
        ("OUTREACH_EMAIL_FROM", "billing@bank.test"),
    ],
)
def test_test_numbers_and_example_domains_are_refused_as_senders_with_real_providers(name, value):
    assert named(deployment_problems({**PROVIDERS, name: value})) == [name]
    campaign = {"m9_recovery": {name: value}}
    problems = deployment_problems(PROVIDERS, campaign)
    assert named(problems) == [name] and "campaign m9_recovery" in str(problems[0])
    assert deployment_problems({"OUTREACH_CHANNELS": "sandbox", name: value}, campaign) == []


def test_a_database_password_left_as_the_placeholder_is_refused():
    env = {**PRODUCTION, "OUTREACH_LEDGER_URL": "postgresql+psycopg2://airflow:change-me@postgres/outreach"}
    assert named(deployment_problems(env)) == ["OUTREACH_LEDGER_URL"]


def test_credentials_kept_in_airflow_connections_are_checked_when_a_dispatch_starts(tmp_path):
    env = {
        k: v for k, v in PROVIDERS.items() if not k.startswith(("TWILIO_", "SENDGRID_", "OUTREACH_SMS", "OUTREACH_V"))
    }
    env["OUTREACH_CREDENTIALS"] = "airflow-connections"
    assert deployment_problems(env) == []
    # The dispatch reads the connections into the same settings and refuses what is missing there.
    with pytest.raises(UnsafeDeployment) as refused:
        channels_for("providers", tmp_path, date(2026, 11, 20), {**env, "TWILIO_AUTH_TOKEN": "change-me"})
    assert {"TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "OUTREACH_SMS_FROM"} <= set(named(refused.value.problems))


def test_init_refuses_an_unsafe_production_deployment_before_touching_the_ledger(tmp_path, monkeypatch, capsys):
    for name in list(PROVIDERS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OUTREACH_HOME", str(tmp_path))
    monkeypatch.setenv("OUTREACH_ENVIRONMENT", "production")
    monkeypatch.setenv("OUTREACH_PAYMENTS_SECRET", "change-me")
    assert main(["init"]) == 1
    refused = capsys.readouterr().err
    assert "OUTREACH_PAYMENTS_SECRET: is still the example file's placeholder" in refused
    assert "OUTREACH_LINK_SECRET: is not set" in refused
    assert not (tmp_path / "ledger.db").exists()
