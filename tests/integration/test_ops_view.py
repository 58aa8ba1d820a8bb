"""The ops view in a live Airflow API server: the JSON API behind Airflow's login, and the page in a browser."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from outreach import ops_view, pipeline
from outreach.ledger import Ledger
from outreach.ledger.schema import attempts, ladder_states, planned_steps, quarantined_rows
from outreach.sample import write_sample
from outreach.settings import Settings
from tests.airflow_env import AIRFLOW, PROJECT, airflow_environment
from tests.days import run_day
from tests.servers import free_port

pytestmark = pytest.mark.airflow
DAYS = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
CHROMIUM = os.environ.get("OUTREACH_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = PROJECT / "docs" / "ops-view.png"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Settings, Ledger]:
    """Three business days of both campaigns, with their reports and rollups, on a SQLite ledger."""
    home = tmp_path_factory.mktemp("ops-ledger")
    settings = Settings(
        home=home,
        ledger_url=f"sqlite:///{home / 'ledger.db'}",
        accounts_file=home / "accounts.csv",
        timezone="America/New_York",
    )
    for day in DAYS:
        write_sample(settings.accounts_file, day, accounts=300)
        for ref in run_day(settings, day).values():
            pipeline.report(ref, settings)
    ledger = Ledger.from_url(settings.ledger_url)
    yield settings, ledger
    ledger.dispose()


@pytest.fixture(scope="module")
def server(seeded, migrated_airflow_home, tmp_path_factory):
    """``airflow api-server`` with the plugin, a viewer named ops, and the seeded ledger."""
    settings, _ = seeded
    home = tmp_path_factory.mktemp("ops-airflow") / "airflow"
    shutil.copytree(migrated_airflow_home, home)
    port = free_port()
    env = airflow_environment(
        home,
        settings.home,
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex * 2,
        AIRFLOW__API__SECRET_KEY=uuid.uuid4().hex,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="ops:viewer",
        OUTREACH_LEDGER_URL=settings.ledger_url,
    )
    log = (home / "api-server.log").open("w")
    process = subprocess.Popen(
        [AIRFLOW, "api-server", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/outreach/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (home / "api-server.log").read_text()[-3000:]
            time.sleep(1)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        yield url, "ops", passwords["ops"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def token(server) -> str:
    url, user, password = server
    response = httpx.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def api(server, token, path: str, **params):
    url, _, _ = server
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{url}/outreach/api/ops/{path}", params=params, headers=headers, timeout=60)


def ledger_totals(ledger: Ledger, campaign: str) -> dict[str, int]:
    """The same figures counted straight from the ledger's steps and attempts."""
    scope = (planned_steps.c.campaign == campaign) & planned_steps.c.business_date.between(DAYS[0], DAYS[-1])
    with ledger.engine.connect() as conn:
        planned = conn.execute(select(func.count()).where(scope)).scalar()
        held = conn.execute(select(func.count()).where(scope, planned_steps.c.status == "held")).scalar()
        expired = conn.execute(select(func.count()).where(scope, planned_steps.c.status == "expired")).scalar()
        sent = conn.execute(
            select(func.count())
            .select_from(planned_steps.join(attempts, attempts.c.step_key == planned_steps.c.step_key))
            .where(scope, attempts.c.status.not_in(["claimed", "failed"]))
        ).scalar()
    return {"planned": planned, "held": held, "expired": expired, "sent": sent}


ENDPOINTS = ["campaigns", "funnel", "daily", "attention", "arms", "self-service", "accounts/AC00000001", "funnel.csv"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_and_forged_callers_get_nothing(server, path):
    assert api(server, None, path).status_code == 401
    assert api(server, "forged.token.value", path).status_code == 401


def test_the_funnel_matches_the_ledger(server, token, seeded):
    _, ledger = seeded
    for campaign in ("m1_self_service", "m2_plus"):
        response = api(server, token, "funnel", start=DAYS[0], end=DAYS[-1], campaign=campaign)
        assert response.status_code == 200, response.text
        totals = response.json()["totals"]
        assert {k: totals[k] for k in ("planned", "held", "expired", "sent")} == ledger_totals(ledger, campaign)
        by_row = response.json()["rows"]
        assert sum(r["planned"] for r in by_row) == totals["planned"]
        # Not contacted, by rule: the steps held and those that could not go before the day ended.
        assert sum(response.json()["held_by_rule"].values()) == totals["held"] + totals["expired"]


def test_the_daily_trend_adds_up_to_the_funnel_and_shows_each_variant(server, token):
    funnel = api(server, token, "funnel", start=DAYS[0], end=DAYS[-1], campaign="m1_self_service").json()
    daily = api(server, token, "daily", start=DAYS[0], end=DAYS[-1], campaign="m1_self_service").json()
    assert [d["business_date"] for d in daily["days"]] == [d.isoformat() for d in DAYS]
    assert sum(d["sent"] for d in daily["days"]) == funnel["totals"]["sent"]
    assert {v["variant"] for v in daily["variants"]} == {"sms_first", "email_first"}


def test_what_needs_a_person_lists_each_quarantined_line_once_with_the_campaigns_that_read_it(server, token, seeded):
    _, ledger = seeded
    attention = api(server, token, "attention", start=DAYS[0], end=DAYS[-1]).json()
    with ledger.engine.connect() as conn:
        lines = conn.execute(
            select(
                quarantined_rows.c.business_date,
                quarantined_rows.c.line,
                quarantined_rows.c.field,
                quarantined_rows.c.reason,
            )
            .where(quarantined_rows.c.business_date.between(DAYS[0], DAYS[-1]))
            .distinct()
        ).all()
    shown = attention["quarantined"]
    assert len(shown) == len(lines) == attention["counts"]["quarantined"] > 0
    assert {"line", "field", "reason"} <= set(shown[0]) and "raw" not in shown[0]
    # A line is one thing to fix, listed once whichever campaign runs read it (here one pull served both).
    assert all(q["campaigns"] and set(q["campaigns"]) <= {"m1_self_service", "m2_plus"} for q in shown)


def test_the_page_opens_on_the_latest_business_day_with_data(server, token):
    funnel = api(server, token, "funnel").json()
    assert (funnel["start"], funnel["end"]) == (str(DAYS[-1]), str(DAYS[-1])), "the seeded days end weeks ago"
    assert funnel["totals"] == api(server, token, "funnel", start=DAYS[-1], end=DAYS[-1]).json()["totals"]
    daily = api(server, token, "daily").json()
    assert daily["end"] == str(DAYS[-1]) and [d["business_date"] for d in daily["days"]][-1] == str(DAYS[-1])
    assert len({d["business_date"] for d in daily["days"]}) == len(DAYS)


def test_the_arms_are_the_run_reports_figures_under_one_definition(server, token, seeded):
    from outreach.report import ladder_report

    _, ledger = seeded
    arms = api(server, token, "arms").json()
    assert arms["campaigns"]["m1_self_service"] == ladder_report(ledger, "m1_self_service", DAYS[-1])["variants"]
    assert "did not fail, bounce or go undelivered" in arms["contacted"]


def test_an_account_lookup_shows_its_timeline_with_contacts_masked(server, token, seeded):
    _, ledger = seeded
    contacted = ledger.attempts_for(DAYS[-1]).iloc[0]["account_id"]
    snapshot = ledger.snapshot(DAYS[-1]).set_index("account_id").loc[contacted]
    response = api(server, token, f"accounts/{contacted}")
    assert response.status_code == 200
    body = response.text
    assert response.json()["steps"] and response.json()["decisions"]
    for contact in (snapshot["mobile_phone"], snapshot["email"]):
        if contact:
            assert contact not in body, "a full phone number or email address left the ledger"
    assert api(server, token, "accounts/NOBODY").status_code == 404
    typed = api(server, token, f"accounts/{contacted.lower()}")
    assert typed.status_code == 200 and typed.json()["account_id"] == contacted, "an id is found in any case"
    sent = [s for s in response.json()["steps"] if s["attempt"] in ("sent", "delivered")]
    assert sent and all(s["why"].startswith(("sent at ", "sent (claimed ")) for s in sent), "it says when it went"


def test_the_csv_export_is_the_funnel_on_screen(server, token):
    funnel = api(server, token, "funnel", start=DAYS[0], end=DAYS[-1]).json()
    response = api(server, token, "funnel.csv", start=DAYS[0], end=DAYS[-1])
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sum(int(r["planned"]) for r in rows) == funnel["totals"]["planned"]
    assert {(r["bucket"], r["channel"]) for r in rows} == {(r["bucket"], r["channel"]) for r in funnel["rows"]}


def test_a_ten_year_range_answers_from_the_rollups_and_a_longer_or_backwards_one_is_refused(server, token):
    wide = api(server, token, "funnel", start="2017-01-01", end="2026-12-31")
    narrow = api(server, token, "funnel", start=DAYS[0], end=DAYS[-1])
    assert wide.status_code == 200 and wide.json()["totals"] == narrow.json()["totals"]
    too_long = api(server, token, "daily", start="2016-01-01", end="2026-12-31")
    assert too_long.status_code == 400 and "at most 3660" in too_long.text
    backwards = api(server, token, "funnel", start=DAYS[-1], end=DAYS[0])
    assert backwards.status_code == 400 and "before start" in backwards.text


def sent_links(ledger: Ledger, variant: str, stage: str) -> dict[str, list[str]]:
    """The m1_self_service messages of ``stage`` sent to accounts on ``variant``: step keys by account."""
    query = (
        select(planned_steps.c.account_id, planned_steps.c.step_key)
        .join(attempts, attempts.c.step_key == planned_steps.c.step_key)
        .join(
            ladder_states,
            (ladder_states.c.account_id == planned_steps.c.account_id)
            & (ladder_states.c.campaign == planned_steps.c.campaign),
        )
        .where(
            planned_steps.c.campaign == "m1_self_service",
            planned_steps.c.stage == stage,
            ladder_states.c.variant == variant,
            attempts.c.status.not_in(["claimed", "failed"]),
        )
        .order_by(planned_steps.c.account_id, planned_steps.c.step_key)
    )
    links: dict[str, list[str]] = {}
    with ledger.engine.connect() as conn:
        for account_id, step_key in conn.execute(query):
            links.setdefault(account_id, []).append(step_key)
    return links


def at(day: date, hour: int, days_later: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=days_later), datetime.min.time(), UTC).replace(hour=hour)


@pytest.fixture(scope="module")
def self_service_events(seeded) -> dict[tuple[str, str, str], dict]:
    """Debtors opening the links of sent messages on both arms, as the self-service page records them; the
    rows the funnel should show for the seeded days (business days in New York)."""
    _, ledger = seeded
    first, last = DAYS[0], DAYS[-1]
    email = sent_links(ledger, "email_first", "reminder-email")
    sms = sent_links(ledger, "sms_first", "reminder-sms")
    twice = next(a for a, keys in email.items() if len(keys) >= 2)
    once = [a for a in email if a != twice][:2]
    texted = list(sms)[:4]

    def funnel(account_id: str, step_key: str, *steps: tuple[str, datetime]) -> None:
        for outcome, when in steps:
            assert ledger.add_funnel_event(f"{outcome}:{step_key}", account_id, step_key, outcome, when)

    def paid(account_id: str, on: date) -> None:
        assert ledger.add_payment(account_id, on, 5_000, "USD", "test", f"ssf-{account_id}-{on}")

    # email_first: two links opened by one account count once; it promised and paid the same day.
    funnel(twice, email[twice][0], ("opened", at(last, 14)))
    funnel(twice, email[twice][1], ("opened", at(last, 15)), ("verified", at(last, 15)), ("promise", at(last, 16)))
    paid(twice, last)
    # Paid two days before opening the link: not a self-service payment.
    funnel(once[0], email[once[0]][0], ("opened", at(last, 14)), ("verified", at(last, 14)))
    paid(once[0], first)
    # Opened the day after the range: not in it.
    funnel(once[1], email[once[1]][0], ("opened", at(last, 15, days_later=1)))
    # sms_first: a dispute the day after the range still counts for a link opened in it.
    funnel(texted[0], sms[texted[0]][0], ("opened", at(last, 13)), ("verified", at(last, 13)))
    funnel(texted[0], sms[texted[0]][0], ("dispute", at(last, 13, days_later=1)))
    # Went on to the bank's page and paid the next day.
    funnel(texted[1], sms[texted[1]][0], ("opened", at(last, 17)), ("verified", at(last, 17)), ("pay", at(last, 17)))
    paid(texted[1], last + timedelta(days=1))
    # Opened at 02:00 UTC, 21:00 the evening before in New York, and paid that New York day: paid.
    funnel(texted[2], sms[texted[2]][0], ("opened", at(last, 2)))
    paid(texted[2], last - timedelta(days=1))
    # Opened before the range began (the evening of the day before, in New York): not in it.
    funnel(texted[3], sms[texted[3]][0], ("opened", at(first, 3)))
    none = dict.fromkeys(ops_view.SELF_SERVICE_ACTIONS, 0)
    return {
        ("m1_self_service", "reminder-email", "email_first"): {
            "opened": 2,
            "verified": 2,
            "acted": 1,
            "to_payment_page": 0,
            "paid": 1,
            "actions": none | {"promise": 1},
        },
        ("m1_self_service", "reminder-sms", "sms_first"): {
            "opened": 3,
            "verified": 2,
            "acted": 1,
            "to_payment_page": 1,
            "paid": 2,
            "actions": none | {"dispute": 1},
        },
    }


def test_the_self_service_funnel_counts_accounts_per_arm_from_the_day_they_opened_a_link(
    server, token, seeded, self_service_events
):
    settings, ledger = seeded
    found = ops_view.self_service_funnel(ledger, DAYS[0], DAYS[-1], "m1_self_service", settings.timezone)
    rows = {
        (r["campaign"], r["stage"], r["arm"]): {k: v for k, v in r.items() if k not in ("campaign", "stage", "arm")}
        for r in found["rows"]
    }
    assert rows == self_service_events
    assert set(found["definitions"]) >= {"opened", "verified", "acted", "paid"}
    response = api(server, token, "self-service", start=DAYS[0], end=DAYS[-1], campaign="m1_self_service")
    assert response.status_code == 200, response.text
    assert response.json() == found
    assert api(server, token, "self-service", start=DAYS[0], end=DAYS[-1], campaign="m2_plus").json()["rows"] == []
    # In UTC days the link opened at 02:00 UTC is on the last day, after its payment the day before: not paid.
    utc = ops_view.self_service_funnel(ledger, DAYS[-1], DAYS[-1], "m1_self_service")
    sms = next(r for r in utc["rows"] if r["arm"] == "sms_first")
    assert (sms["opened"], sms["paid"]) == (3, 1)


def test_a_person_logs_into_airflow_and_the_page_shows_the_ledgers_numbers(server, token, seeded, self_service_events):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Debian's chromium is not at {CHROMIUM}: `make browser` installs it"
    url, user, password = server
    funnel = api(server, token, "funnel", start=DAYS[0], end=DAYS[-1], campaign="m2_plus").json()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/auth/login/")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/auth/login" not in u, timeout=60_000)
        page.goto(f"{url}/outreach/ops?start={DAYS[0]}&end={DAYS[-1]}&campaign=m2_plus")
        page.wait_for_selector("td[data-total=planned]", timeout=60_000)
        shown = {
            name: int(page.inner_text(f"td[data-total={name}]").replace(",", ""))
            for name in ("planned", "held", "sent", "delivered", "failed")
        }
        assert shown == {name: funnel["totals"][name] for name in shown}
        assert page.inner_text("#status").startswith(f"{DAYS[0]} to {DAYS[-1]}")
        if os.environ.get("OUTREACH_SCREENSHOT"):  # the README's picture: OUTREACH_SCREENSHOT=1 pytest -k logs_into
            page.screenshot(path=str(SCREENSHOT))
        page.fill("#account", funnel_account(seeded[1]))
        page.click("#lookup button")
        page.wait_for_selector("#timeline table", timeout=30_000)
        # The self-service funnel per arm, as the ledger counts it.
        page.goto(f"{url}/outreach/ops?start={DAYS[0]}&end={DAYS[-1]}&campaign=m1_self_service")
        page.wait_for_selector("#selfservice td[data-field=opened]", timeout=60_000)
        rows = page.eval_on_selector_all(
            "#selfservice tbody tr", "rows => rows.map((r) => [...r.cells].map((c) => c.textContent))"
        )
        assert ["m1_self_service", "reminder-sms", "sms_first", "3", "2", "1", "2"] in rows
        assert "Paid: of those, accounts with a payment" in page.inner_text("#selfservice-definition")
        browser.close()


def funnel_account(ledger: Ledger) -> str:
    return str(ledger.attempts_for(DAYS[-1]).query("campaign == 'm2_plus'").iloc[0]["account_id"])
