"""The account schema every source is mapped onto.

One row per delinquent account as of the business date. Amounts are exact
decimals in the account's currency (stored as integer minor units), never floats.
"""

from __future__ import annotations

from outreach.parties import PARTIES, PARTY_CONTACT_KINDS, party_column

ACCOUNT_COLUMNS: tuple[str, ...] = (
    "account_id",
    "customer_id",
    "name",
    "mobile_phone",
    "home_phone",
    "work_phone",
    "email",
    "country",
    "region",
    "postal_code",
    "locale",
    "stated_timezone",
    "currency",
    "balance_due",
    "minimum_due",
    "oldest_unpaid_due_date",
    "last_payment_date",
    "last_payment_amount",
    "consent_sms",
    "consent_voice",
    "consent_email",
    "flags",
    "product",
    "collector_type",
)

# Others on the account a ladder stage may address (``recipient`` in a campaign): ``outreach.parties``.
PARTY_COLUMNS: tuple[str, ...] = tuple(party_column(p, k) for p in PARTIES for k in PARTY_CONTACT_KINDS)
PARTY_PHONE_COLUMNS: tuple[str, ...] = tuple(party_column(p, "phone") for p in PARTIES)
PARTY_EMAIL_COLUMNS: tuple[str, ...] = tuple(party_column(p, "email") for p in PARTIES)
PARTY_CONSENT_COLUMNS: tuple[str, ...] = tuple(party_column(p, "consent") for p in PARTIES)
ACCOUNT_COLUMNS += PARTY_COLUMNS

# The fields that change from day to day; the others make a contact version, which the ledger keeps once
# per change, not once per day.
DAY_FIELDS: tuple[str, ...] = (
    "balance_due",
    "minimum_due",
    "oldest_unpaid_due_date",
    "last_payment_date",
    "last_payment_amount",
    "flags",
)
CONTACT_FIELDS: tuple[str, ...] = tuple(name for name in ACCOUNT_COLUMNS if name not in DAY_FIELDS)

REQUIRED_COLUMNS: tuple[str, ...] = (
    "account_id",
    "country",
    "currency",
    "balance_due",
    "oldest_unpaid_due_date",
)

PHONE_COLUMNS: tuple[str, ...] = ("mobile_phone", "home_phone", "work_phone")

# Account-level holds a source can assert. Each one stops automated outreach;
# the reason a compliance officer reads is in outreach.policy.
FLAGS: frozenset[str] = frozenset(
    {
        "dispute",
        "bankruptcy",
        "deceased",
        "cease_and_desist",
        "attorney",
        "legal_hold",
        "paid_in_full",
    }
)

LOCALES: frozenset[str] = frozenset({"en", "zh-CN"})
DEFAULT_LOCALE_BY_COUNTRY: dict[str, str] = {"CN": "zh-CN"}
COLLECTOR_TYPES: frozenset[str] = frozenset({"first_party", "third_party", "debt_buyer"})
# ISO 4217 minor-unit exponents for the currencies accepted today.
CURRENCY_EXPONENT: dict[str, int] = {"USD": 2, "CNY": 2, "CAD": 2, "EUR": 2, "GBP": 2, "JPY": 0}

TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})
