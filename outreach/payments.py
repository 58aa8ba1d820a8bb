"""Payment notifications from the bank: authenticated, recorded once, and effective at once.

The body is a JSON object (``PaymentNotice``). The bank signs it with a shared
secret: ``X-Outreach-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``
and ``X-Outreach-Timestamp: <unix seconds>``; a signature older than the replay
window is refused, so a captured request cannot be played again later.

A payment stops every step still pending for the account, at once and in the
same transaction, so a dispatch batch that has not claimed them yet skips them,
and it is credited to the last contact that went out before it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import and_, exists, insert, select

from outreach.accounts.schema import CURRENCY_EXPONENT
from outreach.ladder import FAILED_ATTEMPTS
from outreach.ledger import Ledger
from outreach.ledger.ladder_records import insert_payment_once
from outreach.ledger.schema import account_snapshots, attempts, events, quarantined_rows
from outreach.ledger.selfservice_records import hold_pending_steps

REPLAY_WINDOW_SECONDS = 300
# Where payments for accounts no snapshot ever held wait for a person (the ops view lists them).
UNMATCHED_PAYMENTS = "payment_notices"
SIGNATURE_HEADER = "X-Outreach-Signature"
TIMESTAMP_HEADER = "X-Outreach-Timestamp"


class PaymentNotice(BaseModel):
    """What the bank tells us about one payment."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    payment_id: str = Field(min_length=1, max_length=128)
    account_id: str = Field(min_length=1, max_length=64)
    # In major units, as a string or number: "125.50" (USD), "1000" (JPY).
    amount: Decimal = Field(gt=0, max_digits=15)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    paid_at: AwareDatetime

    @model_validator(mode="after")
    def _fits_its_currency(self) -> PaymentNotice:
        if self.currency not in CURRENCY_EXPONENT:
            raise ValueError(f"currency {self.currency} is not one the ledger keeps ({', '.join(CURRENCY_EXPONENT)})")
        places = -int(self.amount.normalize().as_tuple().exponent)
        if places > CURRENCY_EXPONENT[self.currency]:
            raise ValueError(
                f"amount {self.amount} has more decimal places than {self.currency} allows "
                f"({CURRENCY_EXPONENT[self.currency]})"
            )
        return self

    @property
    def amount_minor(self) -> int:
        return int(self.amount.scaleb(CURRENCY_EXPONENT[self.currency]))


class PaymentNoticeError(ValueError):
    """The body is not a payment notice; the message names each bad field."""


@dataclass(frozen=True)
class PaymentRecorded:
    new: bool
    steps_stopped: int = 0
    credited_step: str | None = None
    # False: no snapshot ever held the account; the payment is kept and set aside for a person.
    known_account: bool = True


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_problem(secret: str | None, timestamp: str, body: bytes, signature: str, now: float) -> str | None:
    """Why the request is not the bank's (None when it is)."""
    if not secret:
        return "payment notifications are not configured (no shared secret)"
    if not signature or not timestamp.isdigit():
        return "missing signature"
    if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return "stale signature"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "invalid signature"
    return None


def parse_notice(body: bytes) -> PaymentNotice:
    try:
        return PaymentNotice.model_validate_json(body)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}" for error in exc.errors()]
        raise PaymentNoticeError("; ".join(problems)) from exc


def record_payment(
    ledger: Ledger, notice: PaymentNotice, received_at: datetime, business_timezone: str
) -> PaymentRecorded:
    """Record the payment once, stop the account's pending steps, credit the contact before it.

    The payment belongs to the business day it was made on in ``business_timezone``, not the
    UTC day: a payment at 8 pm in New York counts for that day's funnel, not tomorrow's.
    """
    amount = f"{notice.currency} {notice.amount:,.2f}"
    reason = f"payment of {amount} received {notice.paid_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: outreach stops"
    with ledger.engine.begin() as conn:
        credited = conn.execute(
            select(attempts.c.step_key)
            .where(
                and_(
                    attempts.c.account_id == notice.account_id,
                    attempts.c.claimed_at <= notice.paid_at,
                    attempts.c.status.not_in(list(FAILED_ATTEMPTS)),
                )
            )
            .order_by(attempts.c.claimed_at.desc())
            .limit(1)
        ).scalar()
        if not insert_payment_once(
            conn,
            account_id=notice.account_id,
            paid_on=notice.paid_at.astimezone(ZoneInfo(business_timezone)).date(),
            amount_minor=notice.amount_minor,
            currency=notice.currency,
            source="bank_webhook",
            reference=notice.payment_id,
            recorded_at=received_at,
            credited_step_key=credited,
        ):
            return PaymentRecorded(new=False)
        stopped = hold_pending_steps(
            conn, notice.account_id, reason, received_at, f"payment:{notice.payment_id}", "payment"
        )
        conn.execute(
            insert(events).values(
                account_id=notice.account_id,
                step_key=credited,
                channel=None,
                kind="payment",
                outcome="paid",
                provider_event_id=f"pay:{notice.payment_id}"[:128],
                occurred_at=notice.paid_at,
                recorded_at=received_at,
                payload=_payload(notice),
            )
        )
        known = conn.execute(select(exists().where(account_snapshots.c.account_id == notice.account_id))).scalar()
        if not known:
            conn.execute(
                insert(quarantined_rows).values(
                    run_id=UNMATCHED_PAYMENTS,
                    business_date=notice.paid_at.astimezone(ZoneInfo(business_timezone)).date(),
                    source="bank payment notice",
                    line=0,
                    field="account_id",
                    reason=f"payment {notice.payment_id} of {amount} names no account the ledger has seen "
                    f"({notice.account_id}): recorded, credited to nothing; match it by hand",
                    raw=_payload(notice),
                )
            )
    return PaymentRecorded(new=True, steps_stopped=len(stopped), credited_step=credited, known_account=bool(known))


def _payload(notice: PaymentNotice) -> dict[str, Any]:
    return {"amount_minor": notice.amount_minor, "currency": notice.currency, "payment_id": notice.payment_id}
