"""The debtor's self-service page: a small web service of its own, on the same ledger.

``GET /r/{ref}`` is where the link in every text and email leads (``OUTREACH_PAY_URL``). The
page names the creditor and the account's last digits, texts a code to the number on file, and
only then shows the amount due and what can be done: pay, promise, choose a plan, dispute, ask
for help, change how we contact. Airflow's API server stays internal; this is the one service
a debtor's browser reaches. A link that is unknown, forged or expired gets the same plain page,
whoever asks, with the bank's number and nothing of any account.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from outreach.accounts.schema import CURRENCY_EXPONENT, LOCALES
from outreach.campaigns.model import Campaign, loadable_campaigns
from outreach.dispatcher import channels_for
from outreach.ledger import Ledger
from outreach.links import LinkKeys
from outreach.messages import Sender, format_amount
from outreach.preflight import refuse_unsafe
from outreach.selfservice import access, actions
from outreach.selfservice.access import SESSION_COOKIE, Link, LinkClosed
from outreach.selfservice.words import WORDS, words_for
from outreach.settings import Settings
from outreach.web.unsubscribe import router as unsubscribe_router

log = logging.getLogger(__name__)
CODE_TEXTS = {
    "en": "{business}: your code is {{code}}. It works for 10 minutes. Never share it; we will not ask for it.",
    "zh-CN": "{business}：您的验证码为 {{code}}，10 分钟内有效。请勿告诉他人，我们不会向您索要。",
}
DONE_WORDS = {
    "promise": "done_promise",
    "plan": "done_plan",
    "plan_request": "done_plan_request",
    "dispute": "done_dispute",
    "hardship": "done_hardship",
    "complaint": "done_complaint",
    "preferences": "done_preferences",
}
CODE_PROBLEMS = {"wrong": "code_wrong", "locked": "code_locked", "expired": "code_expired", "used": "code_expired"}
DEFAULT_PAYMENT_PAGE = "https://pay.example.com/pay"


def create_app(settings: Settings | None = None, now: Callable[[], datetime] | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    # A production page without its link key would accept links keyed with a development one.
    refuse_unsafe(os.environ)
    clock = now or (lambda: datetime.now(UTC))
    ledger = Ledger.from_url(settings.ledger_url)
    ledger.create_schema()
    keys = LinkKeys.from_env(settings.home)
    sender = Sender.from_env()
    zone = ZoneInfo(settings.timezone)
    payment_page = os.environ.get("OUTREACH_BANK_PAYMENT_URL") or DEFAULT_PAYMENT_PAGE
    payment_secret = os.environ.get("OUTREACH_PAYMENTS_SECRET") or keys.secret.decode()
    secure_cookie = sender.pay_base_url.startswith("https://")
    campaigns = {campaign.id: campaign for campaign in loadable_campaigns(settings.campaigns_dir)}
    templates = Environment(
        loader=PackageLoader("outreach.selfservice", "templates"), autoescape=select_autoescape(["html"])
    )
    app = FastAPI(title="Account self-service", docs_url=None, redoc_url=None, openapi_url=None)
    # The email footer's unsubscribe link and the RFC 8058 one-click POST can land here too.
    app.include_router(unsubscribe_router, prefix="/outreach")

    def today() -> date:
        return clock().astimezone(zone).date()

    def page(name: str, link: Link | None, status_code: int = 200, **context: Any) -> HTMLResponse:
        locale = link.locale if link else "en"
        w = words_for(locale)
        body = templates.get_template(name).render(
            w=w,
            locale=locale,
            business=sender.business_name,
            callback=sender.callback_number,
            last4=link.account_last4 if link else None,
            base=f"/r/{link.ref}" if link else "",
            title=w["title"].format(business=sender.business_name),
            key=actions.request_key,
            **context,
        )
        response = HTMLResponse(body, status_code=status_code)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    def closed(why: str) -> HTMLResponse:
        # The reason goes to the log for the engineer on call, never to the page.
        log.info("self-service link refused: %s", why)
        return page("closed.html", None, 404)

    def live_link(ref: str) -> Link:
        return access.open_link(ledger, keys, ref, today())

    def verified(request: Request, link: Link) -> bool:
        return access.session_valid(keys, link.ref, request.cookies.get(SESSION_COOKIE), clock())

    def verify_page(link: Link, problem: str | None = None, sent: bool = False, status_code: int = 200) -> HTMLResponse:
        w = words_for(link.locale)
        text = w[problem].format(callback=sender.callback_number) if problem else None
        if not link.mobile:
            text = w["no_mobile"].format(callback=sender.callback_number)
        return page("verify.html", link, status_code, problem=text, sent=sent, mobile=link.masked_mobile[-4:])

    def campaign_of(link: Link) -> Campaign:
        campaign = campaigns.get(link.campaign)
        if campaign is None:
            raise LinkClosed(f"campaign {link.campaign} is not configured")
        return campaign

    def account_page(link: Link, problem: str | None = None, status_code: int = 200) -> HTMLResponse:
        campaign = campaign_of(link)
        balance = int(link.account.get("balance_due_minor") or 0)
        currency = str(link.account.get("currency") or "USD")
        exponent = CURRENCY_EXPONENT.get(currency, 2)
        latest = today() + timedelta(days=campaign.self_service.promise_horizon_days)
        quiet = (link.account.get("inconvenient_times") or [{}])[0] if link.account.get("inconvenient_times") else {}
        return page(
            "account.html",
            link,
            status_code,
            problem=problem,
            amount=format_amount(balance, currency),
            amount_plain=f"{Decimal(balance).scaleb(-exponent):.{exponent}f}",
            dpd=int(link.account.get("dpd") or 0),
            today=today().isoformat(),
            latest=latest.isoformat(),
            plans=actions.plans_for(link, campaign),
            quiet_from=quiet.get("start", ""),
            quiet_to=quiet.get("end", ""),
            languages=[(code, WORDS[code]["lang_name"]) for code in sorted(LOCALES)],
        )

    def done_page(link: Link, done: actions.Done) -> HTMLResponse:
        w = words_for(link.locale)
        detail = done.detail
        currency = str(detail.get("currency") or link.account.get("currency") or "USD")
        values: dict[str, Any] = {"date": done.respond_by.isoformat() if done.respond_by else ""}
        if done.action == "promise":
            values = {"amount": format_amount(detail["amount_minor"], currency), "date": detail["promised_on"]}
        elif done.action == "plan":
            first = detail["schedule"][0]
            values = {
                "instalments": detail["instalments"],
                "amount": format_amount(first["amount_minor"], currency),
                "date": first["due_on"],
            }
        outcome = w[DONE_WORDS[done.action]].format(**values)
        return page("done.html", link, outcome=outcome, reference=done.reference)

    def act(request: Request, ref: str, do: Callable[[Link, Campaign], actions.Done]) -> Response:
        try:
            link = live_link(ref)
            if not verified(request, link):
                return verify_page(link, "session_over", status_code=401)
            campaign = campaign_of(link)
        except LinkClosed as exc:
            return closed(str(exc))
        try:
            done = do(link, campaign)
        except actions.ActionError as exc:
            w = words_for(link.locale)
            latest = today() + timedelta(days=campaign.self_service.promise_horizon_days)
            return account_page(link, w[f"error_{exc}"].format(latest=latest.isoformat()), 422)
        log.info("self-service %s %s on account ending %s", done.action, done.reference, link.account_last4)
        # Another language chosen applies to this page already.
        return done_page(live_link(ref) if done.action == "preferences" else link, done)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/r/{ref}")
    def landing(request: Request, ref: str) -> Response:
        try:
            link = live_link(ref)
        except LinkClosed as exc:
            return closed(str(exc))
        ledger.add_funnel_event(f"opened:{ref}", link.account_id, link.step_key, "opened", clock())
        if verified(request, link):
            return RedirectResponse(f"/r/{ref}/account", status_code=303)
        return verify_page(link)

    @app.post("/r/{ref}/code")
    def send_code(ref: str) -> Response:
        try:
            link = live_link(ref)
        except LinkClosed as exc:
            return closed(str(exc))
        text = CODE_TEXTS.get(link.locale, CODE_TEXTS["en"]).format(business=sender.business_name)
        sms = channels_for(settings.channel_set, settings.outbox_dir, today())["sms"]
        sent = access.send_code(ledger, keys, link, sms, text, clock())
        if sent.outcome == "sent":
            return verify_page(link, sent=True)
        problem = {"limited": "code_limited", "failed": "code_failed", "no_mobile": "no_mobile"}[sent.outcome]
        return verify_page(link, problem, status_code=429 if sent.outcome == "limited" else 200)

    @app.post("/r/{ref}/verify")
    def verify(ref: str, code: Annotated[str, Form(max_length=12)] = "") -> Response:
        try:
            link = live_link(ref)
        except LinkClosed as exc:
            return closed(str(exc))
        outcome = access.check_code(ledger, keys, link, code, clock())
        if outcome != "ok":
            problem = {
                "wrong": "code_wrong",
                "locked": "code_locked",
                "expired": "code_expired",
                "used": "code_expired",
            }
            return verify_page(link, problem.get(outcome, "code_none"), sent=outcome == "wrong", status_code=401)
        ledger.add_funnel_event(f"verified:{ref}", link.account_id, link.step_key, "verified", clock())
        response = RedirectResponse(f"/r/{ref}/account", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            access.session_token(keys, ref, clock()),
            max_age=int(access.SESSION_LIFETIME.total_seconds()),
            path=f"/r/{ref}",
            httponly=True,
            secure=secure_cookie,
            samesite="strict",
        )
        return response

    @app.get("/r/{ref}/account")
    def account(request: Request, ref: str) -> Response:
        try:
            link = live_link(ref)
            if not verified(request, link):
                return verify_page(link, "session_over", status_code=401)
            return account_page(link)
        except LinkClosed as exc:
            return closed(str(exc))

    @app.get("/r/{ref}/pay")
    def pay(request: Request, ref: str) -> Response:
        try:
            link = live_link(ref)
        except LinkClosed as exc:
            return closed(str(exc))
        if not verified(request, link):
            return verify_page(link, "session_over", status_code=401)
        ledger.add_funnel_event(f"pay:{ref}", link.account_id, link.step_key, "pay", clock())
        return RedirectResponse(actions.payment_page(payment_page, payment_secret, link, clock()), status_code=303)

    @app.post("/r/{ref}/promise")
    def promise(
        request: Request,
        ref: str,
        request_key: Annotated[str, Form(max_length=64)] = "",
        amount: Annotated[str, Form(max_length=32)] = "",
        date_: Annotated[str, Form(alias="date", max_length=10)] = "",
    ) -> Response:
        return act(
            request,
            ref,
            lambda link, campaign: actions.promise(
                ledger, link, campaign, request_key, amount, date_, today(), clock()
            ),
        )

    @app.post("/r/{ref}/plan")
    def plan(
        request: Request,
        ref: str,
        request_key: Annotated[str, Form(max_length=64)] = "",
        plan: Annotated[str, Form(max_length=4)] = "",
    ) -> Response:
        return act(
            request,
            ref,
            lambda link, campaign: actions.choose_plan(ledger, link, campaign, request_key, plan, today(), clock()),
        )

    @app.post("/r/{ref}/plan-request")
    def plan_request(
        request: Request,
        ref: str,
        request_key: Annotated[str, Form(max_length=64)] = "",
        text: Annotated[str, Form(max_length=4000)] = "",
    ) -> Response:
        return act(
            request,
            ref,
            lambda link, campaign: actions.ask_for_plan(ledger, link, campaign, request_key, text, today(), clock()),
        )

    @app.post("/r/{ref}/request")
    def help_request(
        request: Request,
        ref: str,
        request_key: Annotated[str, Form(max_length=64)] = "",
        kind: Annotated[str, Form(max_length=16)] = "",
        text: Annotated[str, Form(max_length=4000)] = "",
    ) -> Response:
        return act(
            request,
            ref,
            lambda link, campaign: actions.request(ledger, link, campaign, request_key, kind, text, today(), clock()),
        )

    @app.post("/r/{ref}/preferences")
    def preferences(
        request: Request,
        ref: str,
        request_key: Annotated[str, Form(max_length=64)] = "",
        stop: Annotated[list[str] | None, Form()] = None,
        quiet_from: Annotated[str, Form(max_length=8)] = "",
        quiet_to: Annotated[str, Form(max_length=8)] = "",
        locale: Annotated[str, Form(max_length=8)] = "en",
    ) -> Response:
        return act(
            request,
            ref,
            lambda link, campaign: actions.preferences(
                ledger, link, request_key, stop or [], quiet_from, quiet_to, locale, clock()
            ),
        )

    return app
