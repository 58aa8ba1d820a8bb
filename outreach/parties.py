"""Someone other than the debtor, as a ladder stage addressed to them sees the account.

A stage may address a co-borrower, a guarantor, the debtor's attorney, the estate or a third party
asked where the debtor is (``recipient`` in a campaign file), by message, by an agent's call or by
letter. The account then stands with that party's contact points, name and consent in the debtor's
places, so choosing an address, the contact window and the policy's consent rules work on the
party's facts, never the debtor's; the debt's own facts (balance, holds, collector) stay. The
policy applies the rules for that party (``ContactRequest.recipient``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Literal, get_args

# Who a contact is with. Reg F's "consumer" includes an executor (12 CFR 1006.6(a)); a third party
# may only be asked where the consumer is (1006.10); in China only the debtor and guarantor (CN-1).
Recipient = Literal["debtor", "co_borrower", "guarantor", "attorney", "estate", "third_party"]
DEBTOR = "debtor"
# The others on an account, each with a name, a phone and an email of their own in the book, and
# whether they agreed to be texted, autodialled and emailed there.
PARTIES: tuple[str, ...] = tuple(recipient for recipient in get_args(Recipient) if recipient != DEBTOR)
PARTY_CONTACT_KINDS: tuple[str, ...] = ("name", "phone", "email", "consent")
# Templates that only ask a third party where the debtor is (12 CFR 1006.10): they say nothing of the debt.
LOCATION_REQUESTS = frozenset({"location_request"})


def party_column(party: str, kind: str) -> str:
    return f"{party}_{kind}"


def spoken(recipient: str) -> str:
    """A recipient as a reason or a page names them: "third party", "co borrower"."""
    return recipient.replace("_", " ")


def recipient_of(account: Mapping[str, Any]) -> str:
    return account.get("recipient") or DEBTOR


def as_seen_by(account: Mapping[str, Any], recipient: Any) -> Mapping[str, Any]:
    """``account`` with ``recipient``'s contact points in the debtor's places (the debtor: as it is)."""
    if not isinstance(recipient, str) or recipient in ("", DEBTOR):
        return account
    consent = bool(account.get(party_column(recipient, "consent")))
    return {
        **account,
        "recipient": recipient,
        "debtor_name": account.get("name"),
        "name": account.get(party_column(recipient, "name")) or "",
        "mobile_phone": account.get(party_column(recipient, "phone")),
        "home_phone": None,
        "work_phone": None,
        "email": account.get(party_column(recipient, "email")),
        # Where the party lives is not on file: their number places them, else the whole country does,
        # and the contact window must hold wherever they could be.
        "stated_timezone": None,
        "region": None,
        "postal_code": None,
        "consent_sms": consent,
        "consent_voice": consent,
        "consent_email": consent,
        # Times the debtor asked not to be called are the debtor's.
        "inconvenient_times": None,
    }


def parties_named(account: Mapping[str, Any], among: Iterable[str] = PARTIES) -> tuple[str, ...]:
    """The other parties (of ``among``) ``account`` gives a name, a phone or an email for."""
    return tuple(party for party in among if any(account.get(name) for name in _naming_columns(party)))


@cache
def _naming_columns(party: str) -> tuple[str, ...]:
    # Asked for every account of a day's plan: the column names are made once.
    return tuple(party_column(party, kind) for kind in ("name", "phone", "email"))
