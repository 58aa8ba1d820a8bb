"""The unsubscribe link of every email, served by the plugin: RFC 8058 one-click POST, a page a person
confirms, and links that only the deployment's secret can make and that stop working in time."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from outreach import pipeline
from outreach.ledger.schema import message_refs
from outreach.links import LinkKeys
from outreach.web import unsubscribe
from tests.days import dispatched_sample_day

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
SECRET = "unsubscribe-test-secret-0123456789abcdef"


@pytest.fixture
def sent_day(ledger, settings_for, tmp_path, monkeypatch):
    """A day dispatched (log channel), and the plugin's unsubscribe routes on the same ledger."""
    monkeypatch.setenv("OUTREACH_LINK_SECRET", SECRET)
    monkeypatch.setenv("OUTREACH_LEDGER_URL", ledger.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OUTREACH_HOME", str(tmp_path / "home"))
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    dispatched_sample_day(settings, DAY, NOON)
    app = FastAPI()
    app.include_router(unsubscribe.router)
    return TestClient(app), settings


def an_email(ledger) -> dict:
    attempts = ledger.attempts_for(DAY)
    step_key = attempts.loc[attempts["channel"] == "email", "step_key"].iloc[0]
    step = ledger.steps(DAY).set_index("step_key").loc[step_key]
    return {"step_key": step_key, "ref": LinkKeys(SECRET.encode()).ref(step_key), **step.to_dict()}


def email_stopped(ledger, address: str) -> bool:
    active = ledger.active_suppressions(datetime.now(UTC))
    return not active.query("channel == 'email' and address == @address").empty


def one_click(client, ref: str):
    return client.post(f"/unsubscribe/{ref}", data={"List-Unsubscribe": "One-Click"})


def test_the_email_carries_the_link_the_plugin_serves(sent_day, ledger):
    email = an_email(ledger)
    outbox = (sent_day[1].outbox_dir / f"{DAY}.jsonl").read_text()
    assert f"/outreach/unsubscribe/{email['ref']}" in outbox
    assert ledger.message_ref(email["ref"])["step_key"] == email["step_key"]


def test_a_one_click_post_stops_email_to_that_address_at_once(sent_day, ledger):
    client, settings = sent_day
    email = an_email(ledger)
    response = one_click(client, email["ref"])
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert email["contact_address"] not in response.text, "the page shows the address masked"
    assert email_stopped(ledger, email["contact_address"])
    assert one_click(client, email["ref"]).status_code == 200, "a second click changes nothing and still answers"

    # The next email planned to that address is held, with the reason.
    later_key = email["step_key"].replace(str(DAY), "later")
    later = {**{k: email[k] for k in ("run_id", "business_date", "account_id", "campaign", "stage", "channel")}}
    ledger.add_steps(
        [
            {
                **later,
                "step_key": later_key,
                "template": email["template"],
                "contact_address": email["contact_address"],
                "decision": "send",
                "rule_ids": "",
                "reason": "planned",
                "status": "pending",
                "planned_at": NOON,
                "window_start": None,
                "window_end": None,
            }
        ],
        [],
    )
    # Asked now, after the unsubscribe (the sample day is in the past, the opt-out is not).
    pipeline.dispatch_due({"run_id": email["run_id"], "business_date": str(DAY)}, settings, now=datetime.now(UTC))
    held = ledger.steps(DAY).set_index("step_key").loc[later_key]
    assert held["status"] == "held" and "opt" in held["status_reason"].lower(), held["status_reason"]


def test_opening_the_link_asks_a_person_to_confirm_and_changes_nothing(sent_day, ledger):
    client, _ = sent_day
    email = an_email(ledger)
    page = client.get(f"/unsubscribe/{email['ref']}")
    assert page.status_code == 200 and '<form method="post">' in page.text and "One-Click" in page.text
    assert not email_stopped(ledger, email["contact_address"]), "mail scanners follow links: a GET never unsubscribes"


def test_forged_guessed_and_expired_links_change_nothing(sent_day, ledger):
    client, _ = sent_day
    email = an_email(ledger)
    forged = [
        LinkKeys(b"someone-elses-secret-0123456789abcdef").ref(email["step_key"]),
        hashlib.sha256(email["account_id"].encode()).hexdigest()[:16],
        "AAAAAAAAAAAAAAAA",
    ]
    for ref in forged:
        assert one_click(client, ref).status_code == 404
        assert client.get(f"/unsubscribe/{ref}").status_code == 404
    with ledger.engine.begin() as conn:
        conn.execute(
            update(message_refs)
            .where(message_refs.c.ref == email["ref"])
            .values(business_date=datetime.now(UTC).date() - timedelta(days=61))
        )
    expired = one_click(client, email["ref"])
    assert expired.status_code == 404 and "expired" in expired.text
    assert not email_stopped(ledger, email["contact_address"])


def test_a_post_that_does_not_ask_to_unsubscribe_is_refused(sent_day, ledger):
    client, _ = sent_day
    email = an_email(ledger)
    assert client.post(f"/unsubscribe/{email['ref']}", data={}).status_code == 400
    assert not email_stopped(ledger, email["contact_address"])
