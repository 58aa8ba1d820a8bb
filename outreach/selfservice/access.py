"""Who may see an account through a message's link: the link, then a code texted to the number on file.

The link is the message's own reference (``outreach.links``), alive for the pay lifetime. It
shows nothing but the creditor and the last digits of the account until its holder types the
code texted to the account's mobile number: a forwarded email or a shared phone is not enough.
A verified holder gets a short session, bound to that link, in a cookie signed with the link key.

Codes are limited per link and per number (over every link that texts it), every wrong code
counts, and a code works once: a reused, expired or guessed code opens nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from outreach.channels.base import Channel, OutboundMessage
from outreach.ledger import Ledger
from outreach.links import LinkError, LinkKeys
from outreach.masking import mask_phone

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
# A person who lost a text asks again once or twice; more is someone trying numbers.
CODES_PER_LINK_PER_HOUR = 3
CODES_PER_NUMBER_PER_DAY = 6
WRONG_CODES_PER_CODE = 5
WRONG_CODES_PER_NUMBER_PER_DAY = 10
SESSION_LIFETIME = timedelta(minutes=20)
SESSION_COOKIE = "outreach_session"
CODE_STEP = "self-service-code"


class LinkClosed(Exception):
    """The link opens nothing: unknown, forged, expired, or its account is gone. Never says whose."""


@dataclass(frozen=True)
class Link:
    ref: str
    step_key: str
    account_id: str
    campaign: str
    business_date: date
    account: dict[str, Any]

    @property
    def locale(self) -> str:
        return str(self.account.get("locale") or "en")

    @property
    def mobile(self) -> str | None:
        return self.account.get("mobile_phone") or None

    @property
    def masked_mobile(self) -> str:
        return mask_phone(self.mobile)

    @property
    def account_last4(self) -> str:
        return self.account_id[-4:]


def open_link(ledger: Ledger, keys: LinkKeys, ref: str, today: date) -> Link:
    """The account behind a live link, or ``LinkClosed``."""
    if not ref or len(ref) > 32:
        raise LinkClosed("malformed")
    message = ledger.message_ref(ref)
    if message is None:
        raise LinkClosed("unknown")
    try:
        keys.check(ref, message["step_key"], message["business_date"], "pay", today)
    except LinkError as exc:
        raise LinkClosed(str(exc)) from exc
    account = ledger.latest_account(message["account_id"])
    if account is None:
        raise LinkClosed("no account")
    return Link(
        ref=ref,
        step_key=message["step_key"],
        account_id=message["account_id"],
        campaign=message["campaign"],
        business_date=message["business_date"],
        account=account,
    )


def _digest(keys: LinkKeys, *parts: str) -> str:
    return hmac.new(keys.secret, "|".join(parts).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CodeSent:
    outcome: str  # sent | limited | no_mobile | failed


def send_code(ledger: Ledger, keys: LinkKeys, link: Link, sms: Channel, text: str, now: datetime) -> CodeSent:
    """Text a one-time code to the account's mobile, within the limits; ``text`` has a ``{code}`` slot."""
    if not link.mobile:
        return CodeSent("no_mobile")
    number = _digest(keys, "number", link.mobile)
    if ledger.codes_sent_since(now - timedelta(hours=1), ref=link.ref) >= CODES_PER_LINK_PER_HOUR:
        return CodeSent("limited")
    if ledger.codes_sent_since(now - timedelta(days=1), address_digest=number) >= CODES_PER_NUMBER_PER_DAY:
        return CodeSent("limited")
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    ledger.add_code(link.ref, number, _digest(keys, "code", link.ref, code), now, now + CODE_LIFETIME)
    message = OutboundMessage(
        step_key=f"{CODE_STEP}|{link.ref}|{now:%Y%m%dT%H%M%S%f}",
        account_id=link.account_id,
        channel="sms",
        to=link.mobile,
        subject=None,
        body=text.format(code=code),
        locale=link.locale,
    )
    result = sms.send([message])[0]
    return CodeSent("sent" if result.status == "sent" else "failed")


def check_code(ledger: Ledger, keys: LinkKeys, link: Link, typed: str, now: datetime) -> str:
    """``ok`` once for the right code; else ``wrong``, ``locked``, ``expired``, ``used`` or ``none``."""
    if link.mobile:
        number = _digest(keys, "number", link.mobile)
        if ledger.failed_code_attempts_since(now - timedelta(days=1), number) >= WRONG_CODES_PER_NUMBER_PER_DAY:
            return "locked"
    typed = "".join(ch for ch in typed if ch.isdigit())[:CODE_DIGITS]
    return ledger.use_code(link.ref, _digest(keys, "code", link.ref, typed), now, WRONG_CODES_PER_CODE)


def session_token(keys: LinkKeys, ref: str, now: datetime) -> str:
    expires = int(now.timestamp() + SESSION_LIFETIME.total_seconds())
    signature = _digest(keys, "session", ref, str(expires))
    return base64.urlsafe_b64encode(f"{expires}.{signature}".encode()).decode()


def session_valid(keys: LinkKeys, ref: str, token: str | None, now: datetime) -> bool:
    if not token:
        return False
    try:
        expires, _, signature = base64.urlsafe_b64decode(token.encode()).decode().partition(".")
        expiry = int(expires)
    except (ValueError, UnicodeDecodeError):
        return False
    if not hmac.compare_digest(_digest(keys, "session", ref, expires), signature):
        return False
    return now.timestamp() < expiry
