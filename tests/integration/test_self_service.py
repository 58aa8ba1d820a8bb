"""The debtor's self-service page over HTTP: the link from a sent message, the texted code, and what
each action changes in the ledger (a promise, a plan, a dispute hold, work for a person, preferences)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from outreach.explain import explain
from outreach.ledger.schema import handoffs
from outreach.links import LinkKeys
from outreach.policy.facts import account_facts
from outreach.selfservice.app import create_app
from tests.airflow_env import OUTREACH, PROJECT
from tests.days import dispatched_sample_day
from tests.servers import free_port

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
SECRET = "self-service-test-secret-0123456789abcdef"


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def page(ledger, settings_for, tmp_path, monkeypatch):
    """A day dispatched (log channel), and the self-service service on the same ledger an hour later."""
    monkeypatch.setenv("OUTREACH_LINK_SECRET", SECRET)
    monkeypatch.setenv("OUTREACH_LEDGER_URL", ledger.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OUTREACH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OUTREACH_BANK_PAYMENT_URL", "https://bank.test/pay")
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    dispatched_sample_day(settings, DAY, NOON)
    clock = Clock(NOON + timedelta(hours=1))
    client = TestClient(create_app(settings, now=clock), follow_redirects=False)
    return client, settings, clock


def a_text(ledger, locale: str = "en") -> dict:
    """A text that went today to an account with a mobile number, and its link's ref."""
    attempts = ledger.attempts_for(DAY)
    steps = ledger.steps(DAY).set_index("step_key")
    snapshot = ledger.snapshot(DAY).set_index("account_id")
    for step_key in attempts.loc[attempts["channel"] == "sms", "step_key"]:
        account = snapshot.loc[steps.loc[step_key, "account_id"]]
        if account["locale"] == locale and account["mobile_phone"]:
            return {
                "step_key": step_key,
                "ref": LinkKeys(SECRET.encode()).ref(step_key),
                "account_id": steps.loc[step_key, "account_id"],
                "mobile": account["mobile_phone"],
            }
    raise AssertionError(f"no {locale} text was sent")


def texted_code(settings, ref_day: date) -> str:
    lines = (settings.outbox_dir / f"{ref_day}.jsonl").read_text(encoding="utf-8").splitlines()
    codes = [json.loads(line) for line in lines if "self-service-code" in line]
    return re.search(r"\b(\d{6})\b", codes[-1]["body"]).group(1)


def verified(client, settings, ref: str) -> None:
    assert client.post(f"/r/{ref}/code").status_code == 200
    response = client.post(f"/r/{ref}/verify", data={"code": texted_code(settings, DAY)})
    assert response.status_code == 303 and response.headers["location"] == f"/r/{ref}/account"


def form_key(html: str, action: str) -> str:
    form = html[html.index(f'action="{action}"') :]
    return re.search(r'name="request_key" value="([^"]+)"', form).group(1)


def test_a_forged_or_expired_link_shows_nothing_of_any_account(page, ledger):
    client, _, clock = page
    text = a_text(ledger)
    forged = client.get("/r/AAAAAAAAAAAAAAAA")
    assert forged.status_code == 404 and "no longer valid" in forged.text
    assert client.get(f"/r/{text['ref']}").status_code == 200
    clock.at = NOON + timedelta(days=31)
    expired = client.get(f"/r/{text['ref']}")
    assert expired.status_code == 404 and "no longer valid" in expired.text
    assert text["account_id"][-4:] not in expired.text and text["account_id"][-4:] not in forged.text


def test_nothing_of_the_debt_shows_before_the_texted_code(page, ledger):
    client, settings, _ = page
    text = a_text(ledger)
    landing = client.get(f"/r/{text['ref']}")
    assert text["mobile"][-4:] in landing.text and text["mobile"] not in landing.text
    assert "$" not in landing.text, "no amount before verification"
    assert client.get(f"/r/{text['ref']}/account").status_code == 401

    assert client.post(f"/r/{text['ref']}/code").status_code == 200
    outbox = (settings.outbox_dir / f"{DAY}.jsonl").read_text(encoding="utf-8")
    assert text["mobile"] not in outbox, "the outbox keeps the number masked"
    code = texted_code(settings, DAY)
    wrong = "000000" if code != "000000" else "111111"
    assert client.post(f"/r/{text['ref']}/verify", data={"code": wrong}).status_code == 401
    assert client.post(f"/r/{text['ref']}/verify", data={"code": code}).status_code == 303
    account = client.get(f"/r/{text['ref']}/account")
    assert account.status_code == 200 and "Amount due" in account.text

    # The code worked once: a second browser with the same code gets nothing.
    other = TestClient(client.app, follow_redirects=False)
    assert other.post(f"/r/{text['ref']}/verify", data={"code": code}).status_code == 401
    assert other.get(f"/r/{text['ref']}/account").status_code == 401


def test_codes_are_limited_per_link_and_wrong_codes_lock_it(page, ledger):
    client, settings, _ = page
    ref = a_text(ledger)["ref"]
    for _ in range(3):
        assert client.post(f"/r/{ref}/code").status_code == 200
    assert client.post(f"/r/{ref}/code").status_code == 429
    code = texted_code(settings, DAY)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post(f"/r/{ref}/verify", data={"code": wrong})
    locked = client.post(f"/r/{ref}/verify", data={"code": code})
    assert locked.status_code == 401 and "Too many tries" in locked.text


def test_a_promise_is_one_promise_however_often_it_is_sent_and_pauses_at_once(page, ledger):
    client, settings, _ = page
    text = a_text(ledger)
    verified(client, settings, text["ref"])
    key = form_key(client.get(f"/r/{text['ref']}/account").text, f"/r/{text['ref']}/promise")
    form = {"request_key": key, "amount": "100.00", "date": "2026-11-27"}
    first = client.post(f"/r/{text['ref']}/promise", data=form)
    again = client.post(f"/r/{text['ref']}/promise", data=form)
    assert first.status_code == again.status_code == 200
    reference = re.search(r"SS-[A-Z0-9]{8}", first.text).group(0)
    assert reference in again.text, "the double submission answers with the same reference"
    promises = ledger.promises_of(text["account_id"])
    open_promises = promises[promises["status"] == "open"]
    assert len(open_promises) == 1 and open_promises.iloc[0]["amount_minor"] == 10000
    assert open_promises.iloc[0]["source"] == "self_service"
    steps = ledger.steps(DAY)
    mine = steps[steps["account_id"] == text["account_id"]]
    assert (mine["status"] != "pending").all(), "nothing more goes today"
    timeline = explain(ledger, text["account_id"])
    assert f"self-service page: promised to pay ({reference})" in timeline
    assert "self-service page: verified with the texted code" in timeline

    too_late = client.post(
        f"/r/{text['ref']}/promise",
        data={"request_key": "another-key", "amount": "100.00", "date": "2027-03-01"},
    )
    assert too_late.status_code == 422 and "Choose a date from today to" in too_late.text


def test_a_dispute_holds_the_account_and_goes_to_a_person(page, ledger):
    client, settings, _ = page
    text = a_text(ledger)
    verified(client, settings, text["ref"])
    key = form_key(client.get(f"/r/{text['ref']}/account").text, f"/r/{text['ref']}/request")
    response = client.post(
        f"/r/{text['ref']}/request", data={"request_key": key, "kind": "dispute", "text": "I paid this in October"}
    )
    assert response.status_code == 200 and "stopped collecting" in response.text
    active = ledger.active_suppressions(NOON + timedelta(hours=2))
    holds = active[(active["account_id"] == text["account_id"]) & (active["reason"] == "dispute")]
    assert len(holds) == 1 and holds.iloc[0]["channel"] is None
    with ledger.engine.connect() as conn:
        person = conn.execute(select(handoffs).where(handoffs.c.account_id == text["account_id"])).mappings().all()
    person = [row for row in person if row["stage"] == "self-service"]
    assert len(person) == 1 and person[0]["status"] == "open" and person[0]["kind"] == "agent_queue"
    assert "answer by 2026-12-20" in person[0]["reason"]


def test_preferences_reach_the_planner_facts(page, ledger):
    client, settings, _ = page
    text = a_text(ledger)
    verified(client, settings, text["ref"])
    key = form_key(client.get(f"/r/{text['ref']}/account").text, f"/r/{text['ref']}/preferences")
    response = client.post(
        f"/r/{text['ref']}/preferences",
        data={"request_key": key, "stop": ["sms"], "quiet_from": "18:00", "quiet_to": "21:00", "locale": "zh-CN"},
    )
    assert response.status_code == 200 and "即刻生效" in response.text, "the answer is in the language chosen"
    row = ledger.snapshot(DAY).set_index("account_id").loc[text["account_id"]]
    assert row["locale"] == "zh-CN"
    facts = account_facts({**row.to_dict(), "account_id": text["account_id"]})
    assert [(t.start.isoformat(), t.end.isoformat()) for t in facts.inconvenient_times] == [("18:00:00", "21:00:00")]
    active = ledger.active_suppressions(NOON + timedelta(hours=2))
    texts_stopped = active[(active["address"] == text["mobile"]) & (active["channel"] == "sms")]
    assert set(texts_stopped["reason"]) == {"electronic_address_opt_out", "tcpa_revoked"}


def test_pay_now_hands_off_to_the_bank_with_a_signed_reference(page, ledger):
    client, settings, _ = page
    text = a_text(ledger)
    verified(client, settings, text["ref"])
    response = client.get(f"/r/{text['ref']}/pay")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("https://bank.test/pay?reference=") and "signature=" in location
    assert text["account_id"] not in location


def test_the_compose_service_command_serves_the_page_on_postgresql(postgres_ledger, tmp_path):
    """The self-service service as compose runs it (its own command), outside a container."""
    service = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())["services"]["self-service"]
    port = str(free_port())
    command = [OUTREACH, *service["command"]]
    command = [{"0.0.0.0": "127.0.0.1", "8091": port}.get(part, part) for part in command]
    env = {
        **os.environ,
        "OUTREACH_LEDGER_URL": postgres_ledger.engine.url.render_as_string(hide_password=False),
        "OUTREACH_HOME": str(tmp_path / "home"),
    }
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read() if server.poll() else ""
            time.sleep(0.3)
        forged = httpx.get(f"http://127.0.0.1:{port}/r/AAAAAAAAAAAAAAAA", timeout=10)
        assert forged.status_code == 404 and "This link is no longer valid" in forged.text
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_plan_request_is_asked_once_and_a_persons_answer_sets_up_the_plan(page, ledger):
    from outreach.campaigns import load_campaign
    from outreach.plan_requests import DECLINE, SET_UP, record_answer, take_requests
    from outreach.settings import SHIPPED_CAMPAIGNS

    client, settings, _ = page
    campaigns = {path.stem: load_campaign(path) for path in SHIPPED_CAMPAIGNS.glob("*.yaml")}
    text = a_text(ledger)
    verified(client, settings, text["ref"])
    key = form_key(client.get(f"/r/{text['ref']}/account").text, f"/r/{text['ref']}/plan-request")
    asked = client.post(f"/r/{text['ref']}/plan-request", data={"request_key": key, "text": "I can pay $100 a month"})
    assert asked.status_code == 200
    reference = re.search(r"SS-[A-Z0-9]{8}", asked.text).group(0)

    forms = take_requests(ledger, campaigns)
    assert [form["reference"] for form in forms] == [reference]
    assert "I can pay $100 a month" in forms[0]["body"] and text["account_id"] in forms[0]["body"]
    assert take_requests(ledger, campaigns) == [], "a request being answered is not asked again"

    person = {"name": "ops.lead"}
    assert record_answer(ledger, forms[0], None) == "waiting", "unanswered: it waits for the next run"
    again = take_requests(ledger, campaigns)
    assert [form["reference"] for form in again] == [reference]
    declined = {
        "chosen_options": [DECLINE],
        "params_input": {"reason": "income not verified"},
        "responded_by_user": person,
    }
    assert record_answer(ledger, again[0], declined) == "declined"
    handoff = ledger.handoffs(kind=["agent_queue"]).set_index("id").loc[again[0]["handoff_id"]]
    assert handoff["status"] == "open" and "declined by ops.lead: income not verified" in handoff["decision_note"]

    # Back in the queue for a call; the agent asks for it again and it is answered with a plan.
    ledger.decide_handoffs([{"id": again[0]["handoff_id"], "status": "open", "note": "called back"}])
    third = take_requests(ledger, campaigns)
    answer = {
        "chosen_options": [SET_UP],
        "params_input": {
            "reason": "agreed on the phone",
            "instalments": 12,
            "first_due": "2026-12-01",
            "every_days": 30,
        },
        "responded_by_user": person,
    }
    assert record_answer(ledger, third[0], answer) == "set_up"
    promises = ledger.promises_of(text["account_id"])
    plan = promises[promises["status"] == "open"].iloc[0]
    assert plan["source"] == "agent" and plan["recorded_by"] == "ops.lead" and len(plan["instalments"]) == 12
    assert plan["instalments"][0]["due_on"] == "2026-12-01"
    assert ledger.handoffs(kind=["agent_queue"]).set_index("id").loc[third[0]["handoff_id"], "status"] == "done"


def test_a_production_page_refuses_to_start_without_its_secrets(sqlite_ledger, settings_for, tmp_path, monkeypatch):
    """Without the link key a production page would trust links keyed with a development one: it refuses."""
    from outreach.preflight import UnsafeDeployment

    for name in ("OUTREACH_LINK_SECRET", "OUTREACH_PAYMENTS_SECRET", "OUTREACH_PAY_URL", "OUTREACH_BANK_PAYMENT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OUTREACH_ENVIRONMENT", "production")
    with pytest.raises(UnsafeDeployment) as refused:
        create_app(settings_for(sqlite_ledger, tmp_path / "accounts.csv"))
    for setting in ("OUTREACH_LINK_SECRET", "OUTREACH_PAY_URL", "OUTREACH_BANK_PAYMENT_URL"):
        assert setting in str(refused.value)
