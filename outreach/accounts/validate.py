"""Validation of a whole batch of raw account rows at once.

Each check runs over a column, not a row, so a million accounts validate in
seconds. A row fails on the first field at fault, in schema order, and goes to
quarantine with its source line, the field and a reason a person can act on;
every other row flows on, typed: E.164 phones, exact minor-unit amounts, dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from outreach.accounts.phones import PhoneNormaliser
from outreach.accounts.schema import (
    COLLECTOR_TYPES,
    CURRENCY_EXPONENT,
    DEFAULT_LOCALE_BY_COUNTRY,
    FALSE_WORDS,
    FLAGS,
    LOCALES,
    PHONE_COLUMNS,
    TRUE_WORDS,
)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


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
    accounts: pd.DataFrame
    quarantined: list[QuarantinedRow] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.accounts) + len(self.quarantined)


class _Failures:
    """The first failure of every row: field and reason, in the order checks ran."""

    def __init__(self, index: pd.Index):
        self.field = pd.Series(None, index=index, dtype=object)
        self.reason = pd.Series(None, index=index, dtype=object)

    def add(self, mask: pd.Series, field_name: str, reason: str | Callable[[pd.Series], pd.Series]) -> None:
        """Record ``reason`` for the rows in ``mask`` that have no failure yet.

        A callable reason is only built for the failing rows: most batches have few.
        """
        fresh = mask & self.field.isna()
        if not fresh.any():
            return
        self.field[fresh] = field_name
        self.reason[fresh] = reason(fresh) if callable(reason) else reason

    @property
    def failed(self) -> pd.Series:
        return self.field.notna()


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values, type=pa.string(), from_pandas=True)


def _series(array: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    series = array.to_pandas()
    series.index = index
    return series


def _text(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series("", index=frame.index, dtype="str")
    trimmed = pc.utf8_trim_whitespace(pc.fill_null(_arrow(frame[name]), ""))
    return _series(trimmed, frame.index)


AMOUNT_PARTS = r"^(?P<sign>-?)(?P<whole>\d+)(?:\.(?P<fraction>\d+))?$"


def _minor_units(values: pd.Series, currency: pd.Series, name: str, failures: _Failures, required: bool) -> pd.Series:
    """Exact minor units from decimal text, by string surgery: never through a float."""
    cleaned = pc.replace_substring(_arrow(values), ",", "")
    present = _series(pc.not_equal(cleaned, ""), values.index)
    if required:
        failures.add(~present, name, "is required")
    exponent = currency.map(CURRENCY_EXPONENT).fillna(2).astype("int64")
    result = pd.Series(pd.NA, index=values.index, dtype="Int64")

    # Fast path: the usual "1234.56" for a two-decimal currency is the digits without the point.
    usual = _series(pc.match_substring_regex(cleaned, r"^\d{1,15}\.\d\d$"), values.index) & (exponent == 2)
    if usual.any():
        rows = usual.to_numpy()
        digits = pc.cast(pc.replace_substring(pc.filter(cleaned, rows), ".", ""), pa.int64())
        result[rows] = digits.to_numpy(zero_copy_only=False)

    rest = (present & ~usual).to_numpy()
    if not rest.any():
        return result
    index = values.index[rest]
    parts = pc.extract_regex(pc.filter(cleaned, rest), AMOUNT_PARTS)
    shaped = pd.Series(pc.is_valid(parts).to_numpy(zero_copy_only=False), index=index)
    failures.add(
        present & ~usual & ~shaped.reindex(values.index, fill_value=True),
        name,
        lambda m: "'" + values[m] + "' is not an amount",
    )
    parts = parts.fill_null({"sign": "", "whole": "0", "fraction": ""})
    negative = pd.Series(pc.equal(pc.struct_field(parts, "sign"), "-").to_numpy(zero_copy_only=False), index=index)
    negative &= shaped
    failures.add(negative.reindex(values.index, fill_value=False), name, lambda m: "'" + values[m] + "' is negative")
    fraction = pc.struct_field(parts, "fraction")
    places = exponent[index]
    too_precise = shaped & (pd.Series(pc.utf8_length(fraction).to_numpy(zero_copy_only=False), index=index) > places)
    failures.add(
        too_precise.reindex(values.index, fill_value=False),
        name,
        lambda m: "'" + values[m] + "' has more decimal places than " + currency[m] + " allows",
    )
    ok = shaped & ~negative & ~too_precise
    for exp in places[ok].unique():
        chosen = (ok & (places == exp)).to_numpy()
        whole = pc.filter(pc.struct_field(parts, "whole"), chosen)
        padded = pc.utf8_rpad(pc.filter(fraction, chosen), width=int(exp), padding="0")
        digits = pc.cast(pc.binary_join_element_wise(whole, padded, ""), pa.int64())
        result[index[chosen]] = digits.to_numpy(zero_copy_only=False)
    return result


def _dates(values: pd.Series, name: str, failures: _Failures, required: bool) -> pd.Series:
    present = values != ""
    if required:
        failures.add(~present, name, "is required")
    parsed = pd.to_datetime(values.where(present), format="%Y-%m-%d", errors="coerce")
    failures.add(present & parsed.isna(), name, lambda m: "'" + values[m] + "' is not a date in YYYY-MM-DD form")
    return parsed.dt.date.astype(object).where(parsed.notna(), None)


def _booleans(values: pd.Series, name: str, failures: _Failures) -> pd.Series:
    folded = _series(pc.utf8_lower(_arrow(values)), values.index)
    truth = folded.isin(TRUE_WORDS)
    failures.add(~truth & ~folded.isin(FALSE_WORDS), name, lambda m: "'" + values[m] + "' is not yes/no")
    return truth


def _check_distinct(values: pd.Series, check: Any) -> pd.Series:
    """Reason (or None) per value, computing ``check`` once per distinct value."""
    verdicts = {value: check(value) for value in pd.unique(values)}
    return values.map(verdicts)


def _zone_problem(zone: str) -> str | None:
    if not zone:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"'{zone}' is not an IANA timezone"
    return None


def _flags_problem(flags: str) -> str | None:
    unknown = sorted({f.strip().lower() for f in flags.split("|") if f.strip()} - FLAGS)
    if unknown:
        # An unrecognised hold (a typo of "bankruptcy", say) must never be read as "no hold".
        return f"unknown flag(s) {unknown}; known flags are {sorted(FLAGS)}"
    return None


def validate_frame(
    raw: pd.DataFrame,
    lines: pd.Series,
    source: str,
    phones: PhoneNormaliser | None = None,
    default_region: str | None = None,
) -> PullResult:
    """Validate a batch of raw rows (strings, schema column names) into accounts and quarantine."""
    phones = phones or PhoneNormaliser()
    raw = raw.reset_index(drop=True)
    lines = pd.Series(np.asarray(lines), index=raw.index)
    failures = _Failures(raw.index)
    text = {name: _text(raw, name) for name in raw.columns}
    get = lambda name: text.get(name, pd.Series("", index=raw.index, dtype=object))  # noqa: E731

    account_id = get("account_id")
    failures.add(account_id == "", "account_id", "is required")
    country = get("country").str.upper()
    if default_region:
        country = country.where(country != "", default_region)
    failures.add(country == "", "country", "is required")
    failures.add(
        (country != "") & ~country.str.match(r"^[A-Z]{2}$"),
        "country",
        lambda m: "'" + country[m] + "' is not an ISO 3166 two-letter code",
    )
    currency = get("currency").str.upper()
    failures.add(currency == "", "currency", "is required")
    failures.add(
        (currency != "") & ~currency.isin(list(CURRENCY_EXPONENT)),
        "currency",
        lambda m: "'" + currency[m] + "' is not a supported currency",
    )

    normalised: dict[str, pd.Series] = {}
    for name in PHONE_COLUMNS:
        number, problem = phones.normalise(get(name), country)
        failures.add(problem.notna(), name, lambda m, problem=problem: problem[m])
        normalised[name] = number

    email = get("email")
    failures.add((email != "") & ~email.str.match(EMAIL_PATTERN), "email", "is not an email address")

    locale = get("locale")
    locale = locale.where(locale != "", country.map(DEFAULT_LOCALE_BY_COUNTRY).fillna("en"))
    failures.add(~locale.isin(LOCALES), "locale", lambda m: "'" + locale[m] + "' is not one of " + str(sorted(LOCALES)))

    stated = get("stated_timezone")
    zone_problem = _check_distinct(stated, _zone_problem)
    failures.add(zone_problem.notna(), "stated_timezone", lambda m: zone_problem[m])

    balance = _minor_units(get("balance_due"), currency, "balance_due", failures, required=True)
    minimum = _minor_units(get("minimum_due"), currency, "minimum_due", failures, required=False)
    due_date = _dates(get("oldest_unpaid_due_date"), "oldest_unpaid_due_date", failures, required=True)
    last_payment = _dates(get("last_payment_date"), "last_payment_date", failures, required=False)
    last_amount = _minor_units(get("last_payment_amount"), currency, "last_payment_amount", failures, required=False)
    consents = {
        name: _booleans(get(name), name, failures) for name in ("consent_sms", "consent_voice", "consent_email")
    }

    flags_text = get("flags")
    flag_problem = _check_distinct(flags_text, _flags_problem)
    failures.add(flag_problem.notna(), "flags", lambda m: flag_problem[m])
    flags = _check_distinct(
        flags_text, lambda f: "|".join(sorted({x.strip().lower() for x in f.split("|") if x.strip()}))
    )

    collector = get("collector_type").where(get("collector_type") != "", "first_party")
    failures.add(
        ~collector.isin(COLLECTOR_TYPES),
        "collector_type",
        lambda m: "'" + collector[m] + "' is not one of " + str(sorted(COLLECTOR_TYPES)),
    )

    # Duplicates among otherwise good rows: the first occurrence wins, later ones are named.
    good_so_far = ~failures.failed
    duplicate = good_so_far & account_id.where(good_so_far).duplicated(keep="first") & (account_id != "")
    if duplicate.any():
        first_line = lines[good_so_far].groupby(account_id[good_so_far]).first()
        failures.add(
            duplicate,
            "account_id",
            lambda m: "duplicate account_id, first seen on line " + account_id[m].map(first_line).astype(str),
        )

    ok = ~failures.failed
    accounts = pd.DataFrame(
        {
            "account_id": account_id,
            "customer_id": get("customer_id").where(get("customer_id") != "", account_id),
            "name": get("name"),
            **normalised,
            "email": email.where(email != "", None),
            "country": country,
            "region": get("region").str.upper().where(get("region") != "", None),
            "postal_code": get("postal_code").where(get("postal_code") != "", None),
            "locale": locale,
            "stated_timezone": stated.where(stated != "", None),
            "currency": currency,
            "balance_due_minor": balance,
            "minimum_due_minor": minimum,
            "oldest_unpaid_due_date": due_date,
            "last_payment_date": last_payment,
            "last_payment_amount_minor": last_amount,
            **consents,
            "flags": flags,
            "product": get("product").where(get("product") != "", None),
            "collector_type": collector,
            "source_line": lines.astype("int64"),
        }
    )[ok].reset_index(drop=True)

    bad = failures.failed
    raw_bad = raw[bad].astype(object).where(raw[bad].notna(), None).to_dict("records")
    quarantined = [
        QuarantinedRow(source, int(line), str(field_name), str(reason), record)
        for line, field_name, reason, record in zip(
            lines[bad], failures.field[bad], failures.reason[bad], raw_bad, strict=True
        )
    ]
    return PullResult(source=source, accounts=accounts, quarantined=quarantined)


def validate_records(records: list[dict[str, Any]], source: str = "records") -> PullResult:
    """Validate a handful of rows given as dicts (line numbers count from 2, as in a CSV)."""
    frame = pd.DataFrame(records, dtype=object)
    return validate_frame(frame, pd.Series(range(2, len(records) + 2)), source)
