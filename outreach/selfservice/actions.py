"""What a verified debtor can do on the page, each recorded as the ladder and the policy read it.

- a promise to pay is a promise like an agent's: the ladder pauses until its date, and the
  account's steps still pending today are held at once;
- a repayment plan the campaign offers is a promise in instalments; a plan it does not offer
  is asked for, and a person answers;
- a dispute puts the dispute hold on the account at once (collection stops until the debt is
  verified); hardship and complaints go to a person; each gets a reference number and a date
  by which a person answers;
- contact preferences stop channels (as a STOP or an unsubscribe would), name a time of day
  not to be contacted, and choose the language of what is sent.

Each form carries a one-time key: submitting it twice records one action.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from outreach.accounts.schema import CURRENCY_EXPONENT, LOCALES
from outreach.campaigns import Campaign
from outreach.ledger import Ledger
from outreach.ledger.ladder_records import instalments_to_json
from outreach.ledger.selfservice_records import SELF_SERVICE, ActionEffects
from outreach.messages import format_amount
from outreach.repayment_plans import instalment_schedule, offered_plans
from outreach.selfservice.access import Link

# By when a person answers what the debtor asked, in calendar days.
RESPOND_WITHIN_DAYS = {
    # A direct dispute is investigated within 30 days (12 CFR 1022.43(e)).
    "dispute": 30,
    # Hardship is time-critical: the next instalment or charge-off may be days away.
    "hardship": 5,
    # The CFPB expects a company's answer to a complaint within 15 days.
    "complaint": 15,
    "plan_request": 5,
}
REQUEST_KINDS = ("dispute", "hardship", "complaint")
STOPPABLE_CHANNELS = ("sms", "email", "voice")
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_TEXT = 1000
# The plan a debtor picks starts its first instalment this many days after today by default.
FIRST_INSTALMENT_DAYS = 7


class ActionError(ValueError):
    """The form cannot be accepted as filled in; ``field`` names the input to correct."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Done:
    action: str
    reference: str
    respond_by: date | None
    new: bool
    detail: dict[str, Any]


def request_key() -> str:
    """A fresh one-time key for a form."""
    return secrets.token_urlsafe(24)


def _reference() -> str:
    return "SS-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def _minor(text: str, currency: str, field: str) -> int:
    try:
        amount = Decimal(str(text).replace(",", "").strip())
    except InvalidOperation as exc:
        raise ActionError(field, "amount") from exc
    exponent = CURRENCY_EXPONENT.get(currency, 2)
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        raise ActionError(field, "amount")
    return int(amount.scaleb(exponent))


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError as exc:
        raise ActionError(field, "date") from exc


def _balance(link: Link) -> tuple[int, str]:
    return int(link.account.get("balance_due_minor") or 0), str(link.account.get("currency") or "USD")


def _record(
    ledger: Ledger,
    link: Link,
    key: str,
    action: str,
    detail: dict[str, Any],
    effects: ActionEffects,
    now: datetime,
    respond_by: date | None = None,
    reference: str | None = None,
) -> Done:
    if not key or len(key) > 64:
        raise ActionError("request_key", "form")
    row = {
        "request_key": key,
        "reference": reference or _reference(),
        "ref": link.ref,
        "account_id": link.account_id,
        "campaign": link.campaign,
        "action": action,
        "detail": detail,
        "created_at": now,
        "respond_by": respond_by,
    }
    recorded, new = ledger.add_selfservice_action(row, link.step_key, effects, run_id=f"self-service:{link.ref}")
    if recorded["action"] != action or recorded["account_id"] != link.account_id:
        raise ActionError("request_key", "form")
    return Done(action, recorded["reference"], recorded["respond_by"], new, recorded["detail"] or {})


def _promise_row(link: Link, amount_minor: int, currency: str, on: date, reference: str, now: datetime) -> dict:
    return {
        "account_id": link.account_id,
        "promised_on": on,
        "amount_minor": amount_minor,
        "currency": currency,
        "source": SELF_SERVICE,
        "recorded_by": "debtor (self-service page)",
        "recorded_at": now,
        "note": f"self-service {reference}",
    }


def promise(
    ledger: Ledger, link: Link, campaign: Campaign, key: str, amount: str, on: str, today: date, now: datetime
) -> Done:
    balance, currency = _balance(link)
    amount_minor = _minor(amount, currency, "amount")
    if amount_minor > balance:
        raise ActionError("amount", "amount_over_balance")
    promised_on = _day(on, "date")
    horizon = today + timedelta(days=campaign.self_service.promise_horizon_days)
    if not today <= promised_on <= horizon:
        raise ActionError("date", "date_outside_horizon")
    reference = _reference()
    money = format_amount(amount_minor, currency)
    effects = ActionEffects(
        promise=_promise_row(link, amount_minor, currency, promised_on, reference, now),
        hold_reason=f"promise to pay {money} by {promised_on} made on the self-service page ({reference})",
    )
    detail = {"amount_minor": amount_minor, "currency": currency, "promised_on": promised_on.isoformat()}
    return _record(ledger, link, key, "promise", detail, effects, now, reference=reference)


def plans_for(link: Link, campaign: Campaign) -> list[dict[str, Any]]:
    """The plans the campaign offers for this balance, each with its instalment, for the page."""
    balance, currency = _balance(link)
    offers = []
    for index, offer in enumerate(offered_plans(campaign, balance, currency)):
        schedule = instalment_schedule(balance, offer.instalments, date.today(), offer.every_days)
        offers.append(
            {
                "index": index,
                "instalments": offer.instalments,
                "every_days": offer.every_days,
                "instalment": format_amount(schedule[0].amount_minor, currency),
            }
        )
    return offers


def choose_plan(
    ledger: Ledger, link: Link, campaign: Campaign, key: str, choice: str, today: date, now: datetime
) -> Done:
    balance, currency = _balance(link)
    offers = offered_plans(campaign, balance, currency)
    try:
        offer = offers[int(choice)]
    except (ValueError, IndexError) as exc:
        raise ActionError("plan", "plan") from exc
    schedule = instalment_schedule(
        balance, offer.instalments, today + timedelta(days=FIRST_INSTALMENT_DAYS), offer.every_days
    )
    reference = _reference()
    row = _promise_row(link, balance, currency, schedule[-1].due_on, reference, now)
    row["instalments"] = instalments_to_json(schedule)
    first = schedule[0]
    effects = ActionEffects(
        promise=row,
        hold_reason=f"repayment plan of {offer.instalments} instalments agreed on the self-service page "
        f"({reference}); the first, {format_amount(first.amount_minor, currency)}, is due {first.due_on}",
    )
    detail = {
        "instalments": offer.instalments,
        "every_days": offer.every_days,
        "schedule": row["instalments"],
        "currency": currency,
    }
    return _record(ledger, link, key, "plan", detail, effects, now, reference=reference)


def _for_a_person(
    link: Link, campaign: Campaign, kind: str, reference: str, text: str, due: date, today: date, now: datetime
) -> dict:
    return {
        "step_key": f"{link.account_id}|self-service|{reference}",
        "run_id": "self-service",
        "business_date": today,
        "account_id": link.account_id,
        "campaign": campaign.id,
        "stage": "self-service",
        "kind": "agent_queue",
        "reason": f"{kind.replace('_', ' ')} {reference} from the self-service page, answer by {due}: {text}",
        "status": "open",
        "created_at": now,
    }


def _text(text: str, field: str, required: bool = True) -> str:
    text = " ".join(str(text or "").split())[:MAX_TEXT]
    if required and not text:
        raise ActionError(field, "required")
    return text


def ask_for_plan(
    ledger: Ledger, link: Link, campaign: Campaign, key: str, text: str, today: date, now: datetime
) -> Done:
    wanted = _text(text, "plan_text")
    reference = _reference()
    due = today + timedelta(days=RESPOND_WITHIN_DAYS["plan_request"])
    effects = ActionEffects(handoff=_for_a_person(link, campaign, "plan request", reference, wanted, due, today, now))
    return _record(ledger, link, key, "plan_request", {"text": wanted}, effects, now, due, reference)


def request(
    ledger: Ledger, link: Link, campaign: Campaign, key: str, kind: str, text: str, today: date, now: datetime
) -> Done:
    """A dispute, hardship or complaint: to a person by a date; a dispute also holds the account at once."""
    if kind not in REQUEST_KINDS:
        raise ActionError("kind", "kind")
    said = _text(text, "text")
    reference = _reference()
    due = today + timedelta(days=RESPOND_WITHIN_DAYS[kind])
    effects = ActionEffects(handoff=_for_a_person(link, campaign, kind, reference, said, due, today, now))
    if kind == "dispute":
        effects.suppressions = [
            _hold(link, "dispute", None, None, now, f"disputed on the self-service page ({reference}): {said}")
        ]
        effects.hold_reason = f"debt disputed on the self-service page ({reference}): collection stops until verified"
    return _record(ledger, link, key, kind, {"text": said}, effects, now, due, reference)


def _hold(link: Link, reason: str, channel: str | None, address: str | None, now: datetime, note: str) -> dict:
    """A suppression the debtor asked for, effective at once."""
    return {
        "account_id": link.account_id,
        "channel": channel,
        "address": address,
        "reason": reason,
        "source": SELF_SERVICE,
        "effective_at": now,
        "recorded_at": now,
        "note": note,
    }


def _clock(text: str, field: str) -> time:
    try:
        return time.fromisoformat(str(text).strip())
    except ValueError as exc:
        raise ActionError(field, "time") from exc


def preferences(
    ledger: Ledger,
    link: Link,
    key: str,
    stop: list[str],
    quiet_from: str,
    quiet_to: str,
    locale: str,
    now: datetime,
) -> Done:
    """Channels to stop, a daily time not to be contacted, the language; each effective at once."""
    unknown = sorted(set(stop) - set(STOPPABLE_CHANNELS))
    if unknown:
        raise ActionError("stop", "channel")
    if locale not in LOCALES:
        raise ActionError("locale", "locale")
    times: list[dict[str, Any]] = []
    if quiet_from or quiet_to:
        start, end = _clock(quiet_from, "quiet_from"), _clock(quiet_to, "quiet_to")
        if start == end:
            raise ActionError("quiet_to", "time_range")
        times = [{"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}]
    reference = _reference()
    note = f"asked on the self-service page ({reference})"
    holds = []

    def hold(reason: str, channel: str, address: str | None) -> None:
        holds.append(_hold(link, reason, channel, address, now, note))

    mobile, email = link.account.get("mobile_phone"), link.account.get("email")
    if "sms" in stop and mobile:
        # As a STOP does: texts to the number, and the consent to automated texts from it.
        hold("electronic_address_opt_out", "sms", mobile)
        hold("tcpa_revoked", "sms", mobile)
    if "email" in stop and email:
        hold("electronic_address_opt_out", "email", email)
    if "voice" in stop:
        # Asking not to be called is a request about the medium (12 CFR 1006.14(h)).
        hold("medium_opt_out", "voice", None)
    effects = ActionEffects(suppressions=holds, preferences={"locale": locale, "inconvenient_times": times})
    detail = {"stop": sorted(stop), "inconvenient_times": times, "locale": locale}
    return _record(ledger, link, key, "preferences", detail, effects, now, reference=reference)


def payment_page(base_url: str, secret: str, link: Link, now: datetime) -> str:
    """The bank's payment page for this account, with a reference the bank can check came from us.

    The signature is HMAC-SHA256, under the secret the bank signs its payment notices with, of
    ``reference|amount_minor|currency|expires``; the account number never appears in the URL.
    """
    balance, currency = _balance(link)
    expires = str(int(now.timestamp()) + 3600)
    signed = f"{link.ref}|{balance}|{currency}|{expires}"
    signature = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    query = urlencode(
        {
            "reference": link.ref,
            "amount_minor": balance,
            "currency": currency,
            "expires": expires,
            "signature": signature,
        }
    )
    return f"{base_url}{'&' if '?' in base_url else '?'}{query}"
