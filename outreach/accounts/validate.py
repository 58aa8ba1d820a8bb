"""Row validation: each raw row becomes a clean account record or a quarantined row
with the line it came from, the field at fault and a reason a person can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from outreach.accounts.schema import (
    COLLECTOR_TYPES,
    CURRENCY_EXPONENT,
    DEFAULT_LOCALE_BY_COUNTRY,
    FALSE_WORDS,
    FLAGS,
    LOCALES,
    PHONE_COLUMNS,
    REQUIRED_COLUMNS,
    TRUE_WORDS,
)

# Deliberately permissive: one @, a dot in the domain, no spaces. Deliverability is
# the provider's job; this only catches values that cannot be an address at all.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RowError(ValueError):
    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class QuarantinedRow:
    source: str
    line: int
    field: str
    reason: str
    raw: dict[str, Any]


@dataclass
class PullResult:
    source: str
    accounts: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[QuarantinedRow] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.accounts) + len(self.quarantined)


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    return "" if value is None else str(value).strip()


def parse_phone(value: str, field_name: str, region: str) -> str | None:
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise RowError(field_name, f"not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(number):
        raise RowError(field_name, f"not a valid {region} phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_date(value: str, field_name: str, required: bool = False) -> date | None:
    if not value:
        if required:
            raise RowError(field_name, "is required")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise RowError(field_name, f"{value!r} is not a date in YYYY-MM-DD form") from exc


def parse_minor_units(value: str, field_name: str, currency: str, required: bool = False) -> int | None:
    if not value:
        if required:
            raise RowError(field_name, "is required")
        return None
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation as exc:
        raise RowError(field_name, f"{value!r} is not an amount") from exc
    if not amount.is_finite():
        raise RowError(field_name, f"{value!r} is not an amount")
    if amount < 0:
        raise RowError(field_name, f"{value} is negative")
    exponent = CURRENCY_EXPONENT[currency]
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise RowError(field_name, f"{value} has more than {exponent} decimal places for {currency}")
    return int(scaled)


def parse_bool(value: str, field_name: str) -> bool:
    word = value.casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RowError(field_name, f"{value!r} is not yes/no")


def validate_row(raw: dict[str, Any]) -> dict[str, Any]:
    """A clean account record, or RowError naming the first field at fault."""
    for name in REQUIRED_COLUMNS:
        if not _text(raw, name):
            raise RowError(name, "is required")

    country = _text(raw, "country").upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise RowError("country", f"{country!r} is not an ISO 3166 two-letter code")
    currency = _text(raw, "currency").upper()
    if currency not in CURRENCY_EXPONENT:
        raise RowError("currency", f"{currency!r} is not a supported currency")

    phones = {name: parse_phone(_text(raw, name), name, country) for name in PHONE_COLUMNS}

    email = _text(raw, "email") or None
    if email and not EMAIL_PATTERN.match(email):
        raise RowError("email", "is not an email address")

    locale = _text(raw, "locale") or DEFAULT_LOCALE_BY_COUNTRY.get(country, "en")
    if locale not in LOCALES:
        raise RowError("locale", f"{locale!r} is not one of {sorted(LOCALES)}")

    stated_tz = _text(raw, "stated_timezone") or None
    if stated_tz:
        try:
            ZoneInfo(stated_tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RowError("stated_timezone", f"{stated_tz!r} is not an IANA timezone") from exc

    flags = sorted({f.strip().lower() for f in _text(raw, "flags").split("|") if f.strip()})
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        # An unrecognised hold (a typo of "bankruptcy", say) must never be read as "no hold".
        raise RowError("flags", f"unknown flag(s) {unknown}; known flags are {sorted(FLAGS)}")

    collector_type = _text(raw, "collector_type") or "first_party"
    if collector_type not in COLLECTOR_TYPES:
        raise RowError("collector_type", f"{collector_type!r} is not one of {sorted(COLLECTOR_TYPES)}")

    return {
        "account_id": _text(raw, "account_id"),
        "customer_id": _text(raw, "customer_id") or _text(raw, "account_id"),
        "name": _text(raw, "name"),
        **phones,
        "email": email,
        "country": country,
        "region": _text(raw, "region").upper() or None,
        "postal_code": _text(raw, "postal_code") or None,
        "locale": locale,
        "stated_timezone": stated_tz,
        "currency": currency,
        "balance_due_minor": parse_minor_units(_text(raw, "balance_due"), "balance_due", currency, required=True),
        "minimum_due_minor": parse_minor_units(_text(raw, "minimum_due"), "minimum_due", currency),
        "oldest_unpaid_due_date": parse_date(_text(raw, "oldest_unpaid_due_date"), "oldest_unpaid_due_date", True),
        "last_payment_date": parse_date(_text(raw, "last_payment_date"), "last_payment_date"),
        "last_payment_amount_minor": parse_minor_units(
            _text(raw, "last_payment_amount"), "last_payment_amount", currency
        ),
        "consent_sms": parse_bool(_text(raw, "consent_sms"), "consent_sms"),
        "consent_voice": parse_bool(_text(raw, "consent_voice"), "consent_voice"),
        "consent_email": parse_bool(_text(raw, "consent_email"), "consent_email"),
        "flags": "|".join(flags),
        "product": _text(raw, "product") or None,
        "collector_type": collector_type,
    }
