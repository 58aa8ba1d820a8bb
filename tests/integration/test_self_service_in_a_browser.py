"""The self-service page as a debtor uses it: on a phone, in English and in Chinese, from the link in a
message that went through the provider sandbox, with the code texted to them.

One book of four M1 accounts is sent its first reminders; each debtor opens their link and does one
thing (promise, plan, dispute, preferences). The ledger then holds each effect, and the campaign's
next run plans around it: nothing for the promise and the plan, a dispute hold, and what is still
sent to the fourth debtor goes in the language they chose and not by text.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from outreach.settings import Settings
from tests.airflow_env import PROJECT
from tests.days import FAST_PROVIDERS, Book, run_day
from tests.servers import serve
from tests.stack import fresh_databases

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("self_service_browser")]
SCREENSHOTS = PROJECT / "docs" if os.environ.get("OUTREACH_SCREENSHOT") else None
DAY = date(2026, 11, 16)  # a Monday
NEXT_RUN = DAY + timedelta(days=3)  # the second stage of every M1 ladder is due
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DEBTORS = {
    "AC70001": {"locale": "en", "mobile_phone": "+12125550141", "email": "promise@example.com"},
    "AC70002": {"locale": "zh-CN", "mobile_phone": "+12125550143", "email": "plan@example.com", "name": "王 芳"},
    "AC70003": {"locale": "zh-CN", "mobile_phone": "+12125550144", "email": "dispute@example.com", "name": "李 伟"},
    "AC70004": {"locale": "en", "mobile_phone": "+12125550145", "email": "prefs@example.com"},
}


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def world(sandbox_server, tmp_path_factory):
    """The first day sent through the sandbox, and the self-service service its links lead to."""
    from outreach.ledger import Ledger
    from outreach.selfservice.app import create_app
    from tests.servers import Sandbox

    work = tmp_path_factory.mktemp("self-service")
    sandbox = Sandbox(sandbox_server)
    sandbox.reset()
    clock = Clock(datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=19))
    with fresh_databases("selfservice") as (_, ledger_url), pytest.MonkeyPatch.context() as env:
        for name, value in {
            "OUTREACH_HOME": str(work / "home"),
            "OUTREACH_LEDGER_URL": ledger_url,
            "OUTREACH_ACCOUNTS_FILE": str(work / "accounts.csv"),
            "OUTREACH_SANDBOX_URL": sandbox_server,
            "OUTREACH_CHANNELS": "sandbox",
            "OUTREACH_LINK_SECRET": "browser-test-link-secret-0123456789abcdef",
            "OUTREACH_BANK_PAYMENT_URL": "https://bank.test/pay",
            **FAST_PROVIDERS,
        }.items():
            env.setenv(name, value)
        settings = Settings.from_env()
        ledger = Ledger.from_url(ledger_url)
        ledger.create_schema()
        with serve(create_app(settings, now=clock)) as url:
            env.setenv("OUTREACH_PAY_URL", f"{url}/r/")
            book = Book(work / "accounts.csv")
            for account_id, fields in DEBTORS.items():
                book.add(account_id, DAY - timedelta(days=6), **fields)
            book.write()
            run_day(settings, DAY)
            yield {"url": url, "sandbox": sandbox, "ledger": ledger, "clock": clock, "settings": settings}
        ledger.dispose()


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


def link_sent_to(world, account_id: str) -> str:
    """The self-service link in the first message the account was sent (text or email), as it went."""
    mobile, email = DEBTORS[account_id]["mobile_phone"], DEBTORS[account_id]["email"]
    for request in world["sandbox"].requests():
        body = str(request.get("payload"))
        if mobile in body or email in body:
            found = re.search(re.escape(world["url"]) + r"/r/[A-Za-z0-9_-]+", body)
            if found:
                return found.group(0)
    raise AssertionError(f"no message with a link went to {account_id}")


def texted_code(world, account_id: str) -> str:
    texts = world["sandbox"].requests("twilio", to=DEBTORS[account_id]["mobile_phone"])
    codes = [re.search(r"\b(\d{6})\b", str(t["payload"].get("Body", ""))) for t in texts]
    return [c.group(1) for c in codes if c][-1]


def shot(page, name: str) -> None:
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def verify(page, world, account_id: str, send_code: str, carry_on: str) -> None:
    page.goto(link_sent_to(world, account_id))
    page.get_by_role("button", name=send_code).click()
    if account_id == "AC70001":
        shot(page, "self-service-verify-en.png")
    page.get_by_role("textbox").fill(texted_code(world, account_id))
    page.get_by_role("button", name=carry_on).click()
    page.wait_for_url(re.compile(r"/account$"))


def test_a_promise_in_english(world, phone):
    verify(phone, world, "AC70001", "Text me a code", "Continue")
    assert phone.get_by_test_id("amount-due").inner_text() == "$1,250.50"
    shot(phone, "self-service-account-en.png")
    promised = (DAY + timedelta(days=7)).isoformat()
    section = phone.locator("#promise")
    section.get_by_label("Amount").fill("1250.50")
    section.get_by_label("Date").fill(promised)
    section.get_by_role("button", name="Promise to pay").click()
    assert f"You promised to pay $1,250.50 by {promised}" in phone.get_by_test_id("outcome").inner_text()
    shot(phone, "self-service-promise-en.png")
    promises = world["ledger"].promises_of("AC70001")
    assert promises[promises["status"] == "open"][["amount_minor", "source"]].values.tolist() == [
        [125050, "self_service"]
    ]


def test_a_plan_in_chinese(world, phone):
    verify(phone, world, "AC70002", "发送验证码", "继续")
    shot(phone, "self-service-account-zh.png")
    section = phone.locator("#plan")
    section.get_by_label(re.compile("分 6 期")).check()
    section.get_by_role("button", name="选择此方案").click()
    assert "共 6 期" in phone.get_by_test_id("outcome").inner_text()
    promises = world["ledger"].promises_of("AC70002")
    plan = promises[promises["status"] == "open"].iloc[0]
    assert len(plan["instalments"]) == 6 and plan["amount_minor"] == 125050


def test_a_dispute_in_chinese(world, phone):
    verify(phone, world, "AC70003", "发送验证码", "继续")
    section = phone.locator("#help")
    section.get_by_label("问题类型").select_option("dispute")
    section.get_by_label("详细说明").fill("这笔款项我已经在十月还清了")
    section.get_by_role("button", name="提交").click()
    assert "暂停催收" in phone.get_by_test_id("outcome").inner_text()
    shot(phone, "self-service-dispute-zh.png")
    active = world["ledger"].active_suppressions(datetime.now(UTC))
    assert "dispute" in set(active.loc[active["account_id"] == "AC70003", "reason"])


def test_preferences_in_english(world, phone):
    verify(phone, world, "AC70004", "Text me a code", "Continue")
    section = phone.locator("#preferences")
    section.get_by_label("Text message").check()
    section.get_by_label("Do not contact me between").fill("18:00")
    section.get_by_label("and", exact=True).fill("21:00")
    section.get_by_label("Language").select_option("zh-CN")
    section.get_by_role("button", name="Save preferences").click()
    assert "即刻生效" in phone.get_by_test_id("outcome").inner_text(), "the answer comes in the language chosen"
    preferences = world["ledger"].contact_preferences_of("AC70004")
    assert preferences["locale"] == "zh-CN" and preferences["inconvenient_times"] == [
        {"start": "18:00", "end": "21:00"}
    ]


def test_forged_and_expired_links_show_nothing(world, phone):
    phone.goto(f"{world['url']}/r/forgedforgedforg")
    assert phone.get_by_role("heading", name="This link is no longer valid").is_visible()
    link = link_sent_to(world, "AC70001")
    world["clock"].at += timedelta(days=31)
    try:
        phone.goto(link)
        assert phone.get_by_role("heading", name="This link is no longer valid").is_visible()
        assert "0001" not in phone.content()
    finally:
        world["clock"].at -= timedelta(days=31)


def test_the_next_run_plans_around_what_each_debtor_did(world):
    ledger, sandbox = world["ledger"], world["sandbox"]
    sent_before = len(sandbox.requests())
    run_day(world["settings"], NEXT_RUN)
    steps = ledger.steps(NEXT_RUN)
    mine = steps.set_index("account_id")
    positions = ledger.positions(list(DEBTORS))
    assert "AC70001" not in mine.index and "promise to pay" in positions["AC70001"].status_reason
    assert "AC70002" not in mine.index and "repayment plan" in positions["AC70002"].status_reason
    disputed = steps[steps["account_id"] == "AC70003"]
    assert not disputed.empty and (disputed["decision"] == "block").all()
    assert disputed["reason"].str.contains("dispute").all()

    fourth = steps[steps["account_id"] == "AC70004"]
    assert not fourth.empty
    after = sandbox.requests()[sent_before:]
    texts = [r for r in after if DEBTORS["AC70004"]["mobile_phone"] in str(r.get("payload"))]
    assert not texts, "no text goes to a number whose owner stopped texts"
    emails = [r for r in after if DEBTORS["AC70004"]["email"] in str(r.get("payload"))]
    for email in emails:
        assert re.search(r"[\u4e00-\u9fff]", str(email["payload"])), "what is sent is in the language chosen"
