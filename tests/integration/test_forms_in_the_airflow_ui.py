"""The forms ops use every day, submitted in a real browser through Airflow's own UI on a live stack:
the manual escalation trigger form, the placement approval in Required Actions, the Collections page
and its account lookup. Each test then checks the ledger, as ops would check the outcome.

The tests run in order on one stack and one ledger: a book walked up the M2+ ladder until three
placements wait for approval, then escalations by hand and two campaign runs answered in the browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from outreach import pipeline
from outreach.ledger import Ledger
from outreach.settings import SHIPPED_CAMPAIGNS, Settings
from tests.airflow_env import PROJECT
from tests.days import Book, run_day
from tests.stack import LIVE_STACK, fresh_databases, running_airflow, stack_environment, wait_until

pytestmark = [pytest.mark.airflow, LIVE_STACK]
# OUTREACH_SCREENSHOT=1 writes the README's pictures of each form to docs/.
SCREENSHOTS = PROJECT / "docs" if os.environ.get("OUTREACH_SCREENSHOT") else None
USER = "ops.lead"
START = date(2026, 11, 2)  # a Monday
HUMAN_PAUSE_SECONDS = 10
PLACED = ["AC90001", "AC90002", "AC90003"]  # forty days late on day one: at the agency stage by day fourteen
BY_ID = "AC90020"  # enters M2 on the last day walked: escalated by id
BY_SEGMENT = "AC90030"  # enters at DPD 70 with 3,000 owed on the last day: in the saved high-balance segment


def business_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 6:  # the campaigns run Monday to Saturday
            days.append(day)
        day += timedelta(days=1)
    return days


DAYS = business_days(START, 16)
WALKED, FIRST_APPROVAL, SECOND_APPROVAL = DAYS[:14], DAYS[14], DAYS[15]


@pytest.fixture(scope="module")
def stack(airflow_template, tmp_path_factory):
    """A live Airflow on PostgreSQL whose ledger holds fourteen business days of the M2+ ladder.

    The campaign files are the shipped ones with a schedule that has no tick since the DAGs' start, so
    unpausing a campaign starts no run of today's: only the runs the tests trigger touch the ledger.
    """
    work = tmp_path_factory.mktemp("ui-forms")
    campaigns = work / "campaigns"
    shutil.copytree(SHIPPED_CAMPAIGNS, campaigns)
    for path in campaigns.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"^schedule: .*$", 'schedule: "0 10 29 2 *"', text, flags=re.M), encoding="utf-8")
    with fresh_databases("ui", airflow_template) as (airflow_db, ledger_db):
        env = stack_environment(work, airflow_db, ledger_db, "LocalExecutor")
        env.update(
            {
                "OUTREACH_CLOCK": "logical",
                "OUTREACH_ACCOUNTS_FILE": str(work / "accounts.csv"),
                "OUTREACH_CAMPAIGNS_DIR": str(campaigns),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:op",
            }
        )
        with running_airflow(env, work / "logs", "campaign_m2_plus", migrated=True) as api:
            ledger = Ledger.from_url(ledger_db)
            walk_the_book(Settings.from_env(env), work / "accounts.csv")
            passwords = json.loads(
                (Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated").read_text()
            )
            yield api, env, ledger, passwords[USER]
            ledger.dispose()


def walk_the_book(settings: Settings, accounts: Path) -> None:
    book = Book(accounts)
    for account in PLACED:
        book.add(account, START - timedelta(days=40))
    book.write()
    for day in WALKED[:-1]:
        run_day(settings, day, campaigns=("m2_plus",))
    book.add(BY_ID, WALKED[-1] - timedelta(days=35))
    book.add(BY_SEGMENT, WALKED[-1] - timedelta(days=70), balance_due="3000.00")
    book.write()
    ref = run_day(settings, WALKED[-1], campaigns=("m2_plus",))["m2_plus"]
    pipeline.report(ref, settings)  # the day's rollup, as the campaign's report task writes it


@pytest.fixture
def page(stack, browser):
    """A logged-in Airflow UI page."""
    api, _, _, password = stack
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    opened = context.new_page()
    opened.goto(f"{api}/auth/login/")
    opened.fill("input[name=username]", USER)
    opened.fill("input[name=password]", password)
    opened.click("button[type=submit]")
    opened.wait_for_url(lambda u: "/auth/login" not in u, timeout=60_000)
    yield opened
    context.close()


def screenshot(page, name: str) -> None:
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def api_get(stack, path: str, **params) -> dict:
    api, _, _, password = stack
    token = httpx.post(f"{api}/auth/token", json={"username": USER, "password": password}, timeout=30).json()
    response = httpx.get(
        f"{api}{path}", params=params, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def latest_run(stack, dag_id: str) -> dict:
    runs = api_get(stack, f"/api/v2/dags/{dag_id}/dagRuns", order_by="-run_after", limit=1)["dag_runs"]
    return runs[0] if runs else {}


def finished(stack, dag_id: str, run_id: str) -> str | None:
    state = api_get(stack, f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
    return state if state in ("success", "failed") else None


def trigger_escalation(page, stack, fill: dict[str, str], apply: bool) -> dict:
    """Fill the manual escalation's trigger form as a person does, press Trigger, and wait for the run."""
    api = stack[0]
    before = latest_run(stack, "manual_escalation").get("dag_run_id")
    page.goto(f"{api}/dags/manual_escalation")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    if "segment" in fill:
        dialog.locator("input[name=element_segment]").locator("xpath=..").click()
        page.get_by_role("option", name=fill["segment"]).click()
    if "account_ids" in fill:
        dialog.locator("#element_account_ids").fill(fill["account_ids"])
    dialog.locator("#element_reason").fill(fill["reason"])
    if apply:
        dialog.locator("[name=element_dry_run]").locator("xpath=..").click()
    trigger = dialog.get_by_role("button", name="Trigger")
    assert trigger.is_enabled(), "the form accepts the request with the other fields left empty"
    screenshot(page, f"escalation-form-{'ids' if 'account_ids' in fill else 'segment'}.png")
    trigger.click()
    run = wait_until(lambda: (r := latest_run(stack, "manual_escalation")).get("dag_run_id") != before and r, "the run")
    state = wait_until(lambda: finished(stack, "manual_escalation", run["dag_run_id"]), "the escalation run", 180)
    assert state == "success", run
    return run


def test_the_collections_page_opens_on_the_latest_business_day(stack, page):
    api = stack[0]
    page.goto(f"{api}/outreach/ops")
    page.wait_for_selector("td[data-total=planned]", timeout=60_000)
    assert page.inner_text("#status").startswith(f"{WALKED[-1]} to {WALKED[-1]}")
    assert int(page.inner_text("td[data-total=planned]").replace(",", "")) > 0
    assert page.locator("#chart text.day").count() >= 1, "the chart names its days"
    screenshot(page, "collections-page.png")


def test_an_escalation_by_account_ids_alone_is_applied_on_the_latest_day(stack, page):
    _, _, ledger, _ = stack
    trigger_escalation(page, stack, {"account_ids": BY_ID, "reason": "customer asked for a person to call"}, True)
    (escalation_id,) = ledger.escalations_of(BY_ID)["id"].tolist()
    request, accounts = ledger.escalation(escalation_id)
    assert request["requested_by"] == USER and not request["dry_run"]
    assert request["business_date"] == WALKED[-1], "the latest day the campaigns pulled"
    assert accounts.set_index("account_id")["outcome"].to_dict() == {BY_ID: "escalated"}
    assert ledger.positions([BY_ID])[BY_ID].stage == "agent-callback"


def test_an_escalation_by_a_saved_segment_alone_as_a_dry_run_changes_nothing(stack, page):
    _, _, ledger, _ = stack
    before = ledger.positions([BY_SEGMENT])[BY_SEGMENT]
    trigger_escalation(
        page, stack, {"segment": "high-balance-60-plus", "reason": "balances over 2,500 need a person"}, False
    )
    (escalation_id,) = ledger.escalations_of(BY_SEGMENT)["id"].tolist()
    request, accounts = ledger.escalation(escalation_id)
    assert request["dry_run"] and request["selector"] == "segment: high-balance-60-plus"
    assert accounts.set_index("account_id").loc[BY_SEGMENT, "outcome"] == "would_escalate"
    assert ledger.positions([BY_SEGMENT])[BY_SEGMENT] == before, "a dry run moves nobody"


def start_campaign_run(stack, day: date) -> str:
    """Trigger campaign_m2_plus for ``day`` at its 10:00 New York instant, as the scheduler would; its run id."""
    api, _, _, password = stack
    token = httpx.post(f"{api}/auth/token", json={"username": USER, "password": password}, timeout=30).json()
    response = httpx.post(
        f"{api}/api/v2/dags/campaign_m2_plus/dagRuns",
        json={"logical_date": f"{day}T15:00:00Z", "dag_run_id": f"business_{day}"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()["dag_run_id"]


def task_state(stack, run_id: str, task_id: str) -> str | None:
    path = f"/api/v2/dags/campaign_m2_plus/dagRuns/{run_id}/taskInstances/{task_id}"
    return api_get(stack, path).get("state")


def answer_the_approval(page, stack, run_id: str, answers: dict[str, str], button: str = "Approve") -> str:
    """Open the run's Required Action as a person does, fill the form and press ``button``; wait for the run
    to finish. Returns what the page showed the person."""
    from playwright.sync_api import expect

    api = stack[0]
    wait_until(lambda: task_state(stack, run_id, "approve_placements") == "awaiting_input", "the approval", 240)
    # A person takes longer than the executor does to report that the paused task's process ended; an
    # answer within those seconds resumes the task first, and Airflow's scheduler then fails it (the
    # executor's "success" meets a queued task) and the answer is lost. Answer as a person would.
    time.sleep(HUMAN_PAUSE_SECONDS)
    page.goto(f"{api}/dags/campaign_m2_plus/runs/{run_id}/tasks/approve_placements/required_actions")
    page.wait_for_selector("#element_reason", timeout=60_000)
    answer = page.get_by_role("button", name=button)
    # The form is live once its required reason, still empty, holds the buttons back: only then is what
    # is typed kept in its state (typed earlier, it is replaced when the form loads its fields).
    expect(answer).to_be_disabled(timeout=60_000)
    shown = page.inner_text("body")
    for name, value in answers.items():
        page.fill(f"#element_{name}", value)
    expect(answer).to_be_enabled(timeout=30_000)
    for name, value in answers.items():
        expect(page.locator(f"#element_{name}")).to_have_value(value)
    screenshot(page, f"placement-approval{'-with-exclusions' if 'exclude' in answers else ''}.png")
    answer.click()
    state = wait_until(lambda: finished(stack, "campaign_m2_plus", run_id), "the campaign run", 300)
    assert state == "success"
    return shown


def agency_handoffs(ledger: Ledger) -> dict[str, str]:
    placements = ledger.handoffs(kind=["agency"]).sort_values("id")
    return dict(zip(placements["account_id"], placements["status"], strict=True))


def test_a_placement_approval_with_one_account_kept_back_places_the_others_and_keeps_it_waiting(stack, page):
    _, _, ledger, _ = stack
    shown = answer_the_approval(
        page,
        stack,
        start_campaign_run(stack, FIRST_APPROVAL),
        {"reason": "no contact in 40 days", "exclude": PLACED[1].lower(), "exclude_reason": "hardship call booked"},
    )
    assert "3 account(s)" in shown and all(account in shown for account in PLACED), "every account is listed"
    assert "USD 3,751.50" in shown, "the total owed"
    assert shown.count("below M3, the earliest it takes") == 3, "the agency takes M3 and later: each is flagged"
    assert agency_handoffs(ledger) == {PLACED[0]: "placed", PLACED[1]: "awaiting_approval", PLACED[2]: "placed"}
    placed = ledger.handoffs(kind=["agency"], status=["placed"])
    assert set(placed["decided_by"]) == {USER} and set(placed["decision_note"]) == {"no contact in 40 days"}
    kept = ledger.account_timeline(PLACED[1])["decisions"]["reason"].tolist()
    assert any(f"kept back by {USER} from the approval: hardship call booked" in reason for reason in kept)
    assert ledger.positions([PLACED[1]])[PLACED[1]].stage == "agency-placement", "kept back where it was"


def test_the_kept_back_account_is_asked_again_and_approved_without_exclusions(stack, page):
    _, _, ledger, _ = stack
    run_id = start_campaign_run(stack, SECOND_APPROVAL)
    shown = answer_the_approval(page, stack, run_id, {"reason": "hardship call went unanswered"})
    assert "1 account(s)" in shown and PLACED[1] in shown
    assert agency_handoffs(ledger)[PLACED[1]] == "placed"


def test_an_account_lookup_shows_its_hand_off_and_every_decision_on_its_timeline(stack, page):
    api = stack[0]
    page.goto(f"{api}/outreach/ops")
    page.wait_for_selector("td[data-total=planned]", timeout=60_000)
    page.fill("#account", PLACED[1].lower())
    page.click("#lookup button")
    page.wait_for_selector("#handoffs", timeout=30_000)
    handoffs = page.inner_text("#handoffs")
    assert "agency" in handoffs and "placed" in handoffs and USER in handoffs
    decisions = page.inner_text("#decisions")
    assert f"kept back by {USER}" in decisions and "hardship call went unanswered" in decisions
    page.locator("#timeline").scroll_into_view_if_needed()
    screenshot(page, "account-lookup.png")


def test_a_debtors_plan_request_is_answered_in_its_own_required_action(stack, page):
    """A request for another plan, made on the self-service page, becomes a form of its own in Required
    Actions; the person sets up a plan there and the ledger holds it, with the ladder paused."""
    from playwright.sync_api import expect

    from outreach.campaigns import load_campaign
    from outreach.selfservice import actions
    from outreach.selfservice.access import Link

    api, env, ledger, password = stack
    account = ledger.latest_account(BY_ID)
    link = Link("ui-plan-request", f"{BY_ID}|ui", BY_ID, "m2_plus", WALKED[-1], account)
    campaign = load_campaign(Path(env["OUTREACH_CAMPAIGNS_DIR"]) / "m2_plus.yaml")
    asked = actions.ask_for_plan(
        ledger, link, campaign, "ui-plan-request", "six months, please", WALKED[-1], datetime.now(UTC)
    )
    token = httpx.post(f"{api}/auth/token", json={"username": USER, "password": password}, timeout=30).json()

    def triggered() -> bool:
        response = httpx.post(
            f"{api}/api/v2/dags/self_service_requests/dagRuns",
            json={"logical_date": None},
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=60,
        )
        return response.status_code == 200

    wait_until(triggered, "the self_service_requests DAG to be parsed", 120, every=3)

    def waiting_form() -> dict | None:
        details = api_get(stack, "/api/v2/dags/self_service_requests/dagRuns/~/hitlDetails")["hitl_details"]
        return next((d for d in details if asked.reference in d["subject"] and not d["response_received"]), None)

    form = wait_until(waiting_form, "the plan request's Required Action", 240, every=2)
    run_id, index = form["task_instance"]["dag_run_id"], form["task_instance"]["map_index"]
    time.sleep(HUMAN_PAUSE_SECONDS)
    page.goto(
        f"{api}/dags/self_service_requests/runs/{run_id}/tasks/answer_plan_request/mapped/{index}/required_actions"
    )
    page.wait_for_selector("#element_reason", timeout=60_000)
    answer = page.get_by_role("button", name="Set up this plan")
    expect(answer).to_be_disabled(timeout=60_000)
    shown = page.inner_text("body")
    assert "six months, please" in shown and BY_ID in shown
    first_due = (WALKED[-1] + timedelta(days=10)).isoformat()
    filled = {"reason": "agreed: six instalments", "instalments": "6", "first_due": first_due}
    for name, value in filled.items():
        # Airflow names each field element_<param>; number fields get a generated id.
        page.fill(f"[name=element_{name}]", value)
    expect(answer).to_be_enabled(timeout=30_000)
    for name, value in filled.items():
        expect(page.locator(f"[name=element_{name}]")).to_have_value(value)
    screenshot(page, "plan-request-required-action.png")
    answer.click()
    assert wait_until(lambda: finished(stack, "self_service_requests", run_id), "the requests run", 300) == "success"

    promises = ledger.promises_of(BY_ID)
    plan = promises[promises["status"] == "open"].iloc[-1]
    assert plan["source"] == "agent" and plan["recorded_by"] == USER
    assert [i["due_on"] for i in plan["instalments"]][:1] == [first_due] and len(plan["instalments"]) == 6
    handoff = ledger.handoffs(kind=["agent_queue"]).query("account_id == @BY_ID and stage == 'self-service'")
    assert handoff["status"].tolist() == ["done"] and USER in handoff["decision_note"].iloc[0]
