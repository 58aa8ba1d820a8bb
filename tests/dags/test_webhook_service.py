"""The provider endpoints on a server of their own, started as the compose file's outreach-webhooks
service starts them (uvicorn on plugins/outreach_webhooks.py): same paths, same checks, same ledger."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from outreach.sandbox.signing import twilio_signature
from tests.days import dispatched_sample_day
from tests.servers import free_port

PROJECT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


@pytest.fixture
def service(postgres_ledger, settings_for, tmp_path):
    settings = settings_for(postgres_ledger, tmp_path / "accounts.csv")
    dispatched_sample_day(settings, DAY, NOON, accounts=40)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())["services"]["outreach-webhooks"]
    command = [str(PROJECT / ".venv/bin/uvicorn"), *compose["command"]]
    # Outside the container: the repository's plugins folder and a free loopback port.
    command[command.index("--app-dir") + 1] = str(PROJECT / "plugins")
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    command[command.index("--workers") + 1] = "1"
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "OUTREACH_LEDGER_URL": settings.ledger_url,
        "OUTREACH_HOME": str(settings.home),
        "TWILIO_AUTH_TOKEN": "service-secret",
        "OUTREACH_CALLBACK_BASE_URL": url,
    }
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/outreach/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()[-3000:]
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_signed_receipt_posted_to_the_service_is_recorded_in_the_ledger(service, postgres_ledger):
    attempts = postgres_ledger.attempts_for(DAY)
    text = attempts[(attempts["channel"] == "sms") & (attempts["status"] == "sent")].iloc[0]
    with postgres_ledger.engine.connect() as conn:
        from sqlalchemy import select

        from outreach.ledger.schema import message_refs

        ref = conn.execute(select(message_refs.c.ref).where(message_refs.c.step_key == text["step_key"])).scalar()
    url = f"{service}/outreach/twilio/status?step={ref}"
    form = {"MessageSid": text["provider_message_id"], "MessageStatus": "delivered"}

    forged = httpx.post(url, data=form, headers={"X-Twilio-Signature": twilio_signature("forged", url, form)})
    assert forged.status_code == 403
    signed = httpx.post(url, data=form, headers={"X-Twilio-Signature": twilio_signature("service-secret", url, form)})
    assert signed.status_code == 204
    after = postgres_ledger.attempts_for(DAY).set_index("step_key")
    assert after.loc[text["step_key"], "status"] == "delivered"
    # The ops API needs Airflow's login: it is not served here at all.
    assert httpx.get(f"{service}/outreach/api/ops/campaigns").status_code == 404
    assert httpx.get(f"{service}/outreach/health").status_code == 200
