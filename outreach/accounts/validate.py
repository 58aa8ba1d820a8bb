"""Validation of a whole batch of raw account rows at once.

Each check runs over an Arrow column, not a row, so a million accounts validate
in about a second. A row fails on the first field at fault, in schema order, and
goes to quarantine with its source line, the field and a reason a person can act
on; every other row flows on, typed: E.164 phones, exact minor-unit amounts,
dates. Reasons are only spelled out for the rows that fail: most batches have few.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from outreach.accounts.columns import flags_at, row_flags, spread
from outreach.accounts.phones import PhoneNormaliser
from outreach.accounts.schema import (
    COLLECTOR_TYPES,
    CONTACT_FIELDS,
    CURRENCY_EXPONENT,
    DEFAULT_LOCALE_BY_COUNTRY,
    FALSE_WORDS,
    FLAGS,
    LOCALES,
    PARTY_COLUMNS,
    PARTY_CONSENT_COLUMNS,
    PARTY_EMAIL_COLUMNS,
    PARTY_PHONE_COLUMNS,
    PHONE_COLUMNS,
    TRUE_WORDS,
)
from outreach.accounts.source_hashes import source_hashes

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
AMOUNT_PARTS = r"^(?P<sign>-?)(?P<whole>\d+)(?:\.(?P<fraction>\d+))?$"
NULL_STRING = pa.scalar(None, pa.string())
CONSENT_COLUMNS = ("consent_sms", "consent_voice", "consent_email")
# Contact fields checked on every row all the same: the amounts need the currency, and both are cheap.
ALWAYS_CHECKED = ("account_id", "country", "currency")
CHECK_THREADS = 2
# Beyond this many runs of good rows between quarantined ones, the accepted rows are copied into one
# table: each run kept as a slice is a chunk every later step handles on its own.
MAX_KEPT_SLICES = 256


@dataclass(frozen=True)
class QuarantinedRow:
    source: str
    line: int
    field: str
    reason: str
    raw: dict[str, Any]


@dataclass
class PullResult:
    """The accepted accounts as an Arrow table (typed, schema columns) and the quarantined rows."""

    source: str
    table: pa.Table
    quarantined: list[QuarantinedRow] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.quarantined)

    @property
    def contacts_checked(self) -> int:
        """How many accepted rows' contact details were checked (the others were as their version was made from)."""
        return int(pc.sum(self.table.column("contacts_checked")).as_py() or 0)

    @cached_property
    def accounts(self) -> pd.DataFrame:
        """The accepted accounts as a DataFrame: nullable integer amounts, ``datetime.date`` dates."""
        return self.table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


class _Failures:
    """The first failure of every row: field and reason, in the order checks ran."""

    def __init__(self, rows: int):
        self.field = np.full(rows, None, dtype=object)
        self.reason = np.full(rows, None, dtype=object)
        self.failed = np.zeros(rows, dtype=bool)

    def add(self, mask: np.ndarray | pa.Array, field_name: str, reason: str | Callable[[np.ndarray], Iterable]) -> None:
        """Record ``reason`` for the rows in ``mask`` that have no failure yet.

        A callable reason gets the failing row positions and is only called when there are some.
        """
        if isinstance(mask, pa.Array | pa.ChunkedArray):
            mask = row_flags(mask)
        rows = np.flatnonzero(mask & ~self.failed)
        if not len(rows):
            return
        self.failed[rows] = True
        self.field[rows] = field_name
        self.reason[rows] = list(reason(rows)) if callable(reason) else reason

    def replay(self, problems: _Problems) -> None:
        for found in problems.found:
            self.add(*found)


class _Problems:
    """What one field's check found, kept until the checks before it in schema order are recorded."""

    def __init__(self) -> None:
        self.found: list[tuple[np.ndarray | pa.Array, str, str | Callable[[np.ndarray], Iterable]]] = []

    def add(self, mask: np.ndarray | pa.Array, field_name: str, reason: str | Callable[[np.ndarray], Iterable]) -> None:
        self.found.append((mask, field_name, reason))


def _quoted(column: pa.Array, rows: np.ndarray, template: str) -> list[str]:
    """``template`` with each failing value put in for ``{}``."""
    return [template.format(repr(value)) for value in column.take(rows).to_pylist()]


def _exponents(currency: pa.Array) -> pa.Array:
    """The ISO 4217 minor-unit exponent of each row's currency (2 where the currency is unknown)."""
    return pc.fill_null(
        pc.take(
            pa.array(list(CURRENCY_EXPONENT.values()), pa.int64()),
            pc.index_in(currency, pa.array(list(CURRENCY_EXPONENT), pa.string())),
        ),
        2,
    )


def _minor_units(
    values: pa.Array, currency: pa.Array, exponent: pa.Array, name: str, problems: _Problems, *, required: bool
) -> pa.Array:
    """Exact minor units from decimal text, by string surgery: never through a float."""
    size = len(values)
    cleaned = pc.replace_substring(values, ",", "")
    present = pc.not_equal(cleaned, "")
    if required:
        problems.add(pc.invert(present), name, "is required")
    # The usual "1234.56" of a two-decimal currency is its digits without the point.
    usual = pc.and_(pc.match_substring_regex(cleaned, r"^\d{1,15}\.\d\d$"), pc.equal(exponent, 2))
    result = pc.cast(pc.if_else(usual, pc.replace_substring(cleaned, ".", ""), NULL_STRING), pa.int64())
    rows = np.flatnonzero(row_flags(pc.and_(present, pc.invert(usual))))
    if not len(rows):
        return result

    parts = pc.extract_regex(cleaned.take(rows), AMOUNT_PARTS)
    places = exponent.take(rows)
    shaped = row_flags(pc.is_valid(parts))
    problems.add(flags_at(size, rows[~shaped]), name, lambda r: _quoted(values, r, "{} is not an amount"))
    negative = shaped & row_flags(pc.equal(pc.struct_field(parts, "sign"), "-"))
    problems.add(flags_at(size, rows[negative]), name, lambda r: _quoted(values, r, "{} is negative"))
    fraction = pc.fill_null(pc.struct_field(parts, "fraction"), "")
    too_precise = shaped & row_flags(pc.greater(pc.utf8_length(fraction), places))
    problems.add(
        flags_at(size, rows[too_precise]),
        name,
        lambda r: [
            f"{value!r} has more decimal places than {code} allows"
            for value, code in zip(values.take(r).to_pylist(), currency.take(r).to_pylist(), strict=True)
        ],
    )
    usable = shaped & ~negative & ~too_precise
    digits = pa.nulls(len(rows), pa.int64())
    whole = pc.struct_field(parts, "whole")
    for exp in pc.unique(pc.filter(places, usable)).to_pylist():
        chosen = usable & row_flags(pc.equal(places, exp))
        padded = pc.utf8_rpad(fraction, width=int(exp), padding="0")
        joined = pc.if_else(chosen, pc.binary_join_element_wise(whole, padded, ""), NULL_STRING)
        digits = pc.coalesce(digits, pc.cast(joined, pa.int64()))
    return pc.coalesce(result, spread(digits, rows, size))


def _dates(values: pa.Array, name: str, problems: _Problems, *, required: bool) -> pa.Array:
    present = pc.not_equal(values, "")
    if required:
        problems.add(pc.invert(present), name, "is required")
    iso = pc.if_else(pc.match_substring_regex(values, ISO_DATE), values, NULL_STRING)
    parsed = pc.cast(pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
    # strptime rolls 2026-02-30 over into March: a real date keeps the day it was written with.
    written_day = pc.cast(pc.utf8_slice_codeunits(iso, 8, 10), pa.int64())
    parsed = pc.if_else(pc.equal(pc.day(parsed), written_day), parsed, pa.scalar(None, pa.date32()))
    problems.add(
        pc.and_(present, pc.is_null(parsed)),
        name,
        lambda rows: _quoted(values, rows, "{} is not a date in YYYY-MM-DD form"),
    )
    return parsed


def _booleans(values: pa.Array, name: str, problems: _Problems, blank_unstated: bool = False) -> pa.Array:
    folded = pc.utf8_lower(values)
    truth = pc.is_in(folded, pa.array(sorted(TRUE_WORDS)))
    known = pc.or_(truth, pc.is_in(folded, pa.array(sorted(FALSE_WORDS))))
    problems.add(pc.invert(known), name, lambda rows: _quoted(values, rows, "{} is not yes/no"))
    # A party the row does not name has no consent to state: null, not a refusal.
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.bool_()), truth) if blank_unstated else truth


def _per_distinct(values: pa.Array, check: Callable[[str], str | None]) -> pa.Array:
    """``check`` of every value (a string or null), computed once per distinct value."""
    distinct = pc.unique(values)
    verdicts = pa.array([check(value) for value in distinct.to_pylist()], type=pa.string())
    return pc.take(verdicts, pc.index_in(values, distinct))


def _zone_problem(zone: str) -> str | None:
    if not zone:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"'{zone}' is not an IANA timezone"
    return None


def _flag_set(flags: str) -> set[str]:
    return {f.strip().lower() for f in flags.split("|") if f.strip()}


def _flags_problem(flags: str) -> str | None:
    unknown = sorted(_flag_set(flags) - FLAGS)
    if unknown:
        # An unrecognised hold (a typo of "bankruptcy", say) must never be read as "no hold".
        return f"unknown flag(s) {unknown}; known flags are {sorted(FLAGS)}"
    return None


def _blank_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), NULL_STRING, values)


def _or_default(values: pa.Array, default: pa.Array | str) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), default, values)


def _not_one_of(values: pa.Array, allowed: Iterable[str], name: str) -> tuple[pa.Array, str, Callable]:
    choices = sorted(allowed)
    return (
        pc.invert(pc.is_in(values, pa.array(choices))),
        name,
        lambda rows: _quoted(values, rows, "{} is not one of " + str(choices)),
    )


def _phone(values: pa.Array, country: pa.Array, phones: PhoneNormaliser, name: str, problems: _Problems) -> pa.Array:
    number, problem = phones.normalise(values, country)
    problems.add(pc.is_valid(problem), name, lambda r: problem.take(r).to_pylist())
    return number


def _email(email: pa.Array, problems: _Problems, name: str = "email") -> pa.Array:
    problems.add(
        pc.and_(pc.not_equal(email, ""), pc.invert(pc.match_substring_regex(email, EMAIL_PATTERN))),
        name,
        "is not an email address",
    )
    return _blank_to_null(email)


def _locale(locale: pa.Array, country: pa.Array, problems: _Problems) -> pa.Array:
    default_locale = pa.scalar("en")
    for region, language in DEFAULT_LOCALE_BY_COUNTRY.items():
        default_locale = pc.if_else(pc.equal(country, region), language, default_locale)
    locale = _or_default(locale, default_locale)
    problems.add(*_not_one_of(locale, LOCALES, "locale"))
    return locale


def _stated_timezone(stated: pa.Array, problems: _Problems) -> pa.Array:
    zone_problem = _per_distinct(stated, _zone_problem)
    problems.add(pc.is_valid(zone_problem), "stated_timezone", lambda r: zone_problem.take(r).to_pylist())
    return _blank_to_null(stated)


def _flags(flags_text: pa.Array, problems: _Problems) -> pa.Array:
    flag_problem = _per_distinct(flags_text, _flags_problem)
    problems.add(pc.is_valid(flag_problem), "flags", lambda r: flag_problem.take(r).to_pylist())
    return _per_distinct(flags_text, lambda f: "|".join(sorted(_flag_set(f))))


def _collector_type(collector: pa.Array, problems: _Problems) -> pa.Array:
    collector = _or_default(collector, "first_party")
    problems.add(*_not_one_of(collector, COLLECTOR_TYPES, "collector_type"))
    return collector


def _party_column(name: str, checked: dict[str, Any], get: Callable[[str], pa.Array], rows: _Rows) -> pa.Array:
    if name in checked:
        return checked[name]
    if name in PARTY_CONSENT_COLUMNS:
        return pa.nulls(rows.size, pa.bool_())
    return rows.spread(_blank_to_null(get(name)))


def _run_check(check: Callable[[_Problems], Any]) -> tuple[Any, _Problems]:
    problems = _Problems()
    return check(problems), problems


def _anywhere(text: pa.Array, found: str) -> bool:
    """Whether ``found`` may be in any value of ``text``: one scan of its bytes, where a value-by-value
    search of each column is a third of a second at a million rows; a yes is then looked for value by value."""
    data = text.buffers()[2]
    if data is None:
        return False
    scanned = np.frombuffer(data, dtype=np.uint8)
    wanted = np.frombuffer(found.encode(), dtype=np.uint8)
    # Where the first byte is, then which of those go on with the second, and so on.
    starts = np.flatnonzero(scanned[: len(scanned) - len(wanted) + 1] == wanted[0])
    for offset in range(1, len(wanted)):
        starts = starts[scanned[starts + offset] == wanted[offset]]
    return bool(len(starts))


def _duplicates(identities: pa.DictionaryArray, lines: np.ndarray, failures: _Failures) -> None:
    """Among otherwise good rows the first occurrence wins; later ones name the line it was on.
    ``identities``: every row's account id, dictionary-encoded."""
    if len(identities.dictionary) == len(identities):
        return  # no id is there twice, the usual day
    good = np.flatnonzero(~failures.failed)
    group = identities.indices.to_numpy(zero_copy_only=False)[good]
    _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    first_row = good[first][inverse]
    duplicate = first_row != good
    first_line = dict(zip(good[duplicate].tolist(), lines[first_row[duplicate]].tolist(), strict=True))
    failures.add(
        flags_at(len(failures.failed), good[duplicate]),
        "account_id",
        lambda rows: [f"duplicate account_id, first seen on line {first_line[r]}" for r in rows.tolist()],
    )


def _trimmed(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.utf8_trim_whitespace(pc.fill_null(column.cast(pa.string()), ""))


def _blank(rows: int) -> pa.Array:
    """``rows`` empty strings, made from their offsets alone."""
    offsets = pa.py_buffer(np.zeros(rows + 1, dtype=np.int32))
    return pa.StringArray.from_buffers(rows, offsets, pa.py_buffer(b""))


class _Rows:
    """The rows a group of checks runs on: all ``size`` of them, or only those at ``positions``."""

    def __init__(self, size: int, positions: np.ndarray | None = None):
        self.size = size
        self.positions = positions
        self._spread_at: pa.Array | None = None
        self._among_checked: np.ndarray | None = None

    @property
    def count(self) -> int:
        return self.size if self.positions is None else len(self.positions)

    def take(self, column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        return column if self.positions is None else column.take(self.positions)

    def flags(self) -> np.ndarray:
        """Whether each row is checked."""
        return np.ones(self.size, dtype=bool) if self.positions is None else flags_at(self.size, self.positions)

    def spread(self, values: pa.Array) -> pa.Array:
        """A column of every row: ``values`` (one per row checked) where they were checked, null elsewhere."""
        if self.positions is None:
            return values
        if self._spread_at is None:
            among = self._among()
            self._spread_at = pa.array(among, mask=among < 0)
        return pc.take(values, self._spread_at)

    def _among(self) -> np.ndarray:
        """Where each row is among those checked (-1: not checked); made once, for the dozens of columns."""
        if self._among_checked is None:
            self._among_checked = np.full(self.size, -1, dtype="int64")
            self._among_checked[self.positions] = np.arange(len(self.positions))
        return self._among_checked

    def problems(self, found: _Problems) -> _Problems:
        """``found`` (of the rows checked) as problems of every row."""
        if self.positions is None:
            return found
        positions = self.positions
        among = self._among()
        whole = _Problems()
        for mask, name, reason in found.found:
            flags = row_flags(mask) if isinstance(mask, pa.Array | pa.ChunkedArray) else mask
            told = (lambda rows, reason=reason: reason(among[rows])) if callable(reason) else reason
            whole.add(flags_at(self.size, positions[flags]), name, told)
        return whole


def _rows_to_check(account_id: pa.Array, hashes: np.ndarray, checked_before: pa.Table | None) -> tuple[_Rows, pa.Array]:
    """The rows whose contact fields are not as their account's contact version was made from, and for
    the others that version's ``contact_hash`` (null for the rows to check)."""
    rows = len(account_id)
    if checked_before is None or not checked_before.num_rows:
        return _Rows(rows), pa.nulls(rows, pa.int64())
    found = pc.index_in(account_id, checked_before.column("account_id"))
    before = pc.take(checked_before.column("source_hash"), found)
    same = pc.fill_null(pc.equal(before, pa.array(hashes, pa.int64())), False)
    version = pc.if_else(same, pc.take(checked_before.column("contact_hash"), found), pa.scalar(None, pa.int64()))
    changed = np.flatnonzero(~row_flags(same))
    return (_Rows(rows) if len(changed) == rows else _Rows(rows, changed)), version


def validate_table(
    raw: pa.Table,
    lines: np.ndarray,
    source: str,
    phones: PhoneNormaliser | None = None,
    default_region: str | None = None,
    checked_before: pa.Table | None = None,
) -> PullResult:
    """Validate a batch of raw rows (string columns, schema column names) into accounts and quarantine.

    Every row gets ``source_hash``, the hash of its contact fields as given (``source_hashes``). With
    ``checked_before`` (each account's contact version in effect: ``account_id``, the ``source_hash`` it
    was made from and the ``contact_hash`` of its checked details), a row with that same source hash
    keeps the version's checked form: its contact fields other than ``ALWAYS_CHECKED`` are not checked
    again and are null in the result, ``contacts_checked`` is false, and ``version_hash`` is the
    version's ``contact_hash``, for the segmentation to tell that version is still the one in effect.
    Its other fields, and every field of every other row, are checked as always.
    """
    phones = phones or PhoneNormaliser()
    rows = raw.num_rows
    lines = np.asarray(lines, dtype="int64")
    failures = _Failures(rows)
    contact_only = [name for name in raw.column_names if name in CONTACT_FIELDS and name not in ALWAYS_CHECKED]

    # Each column trimmed once, on both cores (Arrow's kernels release the GIL); a contact field only
    # where it is checked.
    with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        hashing = pool.submit(source_hashes, raw, CONTACT_FIELDS, default_region)
        day_names = [name for name in raw.column_names if name not in contact_only]
        trimmed = dict(zip(day_names, pool.map(_trimmed, (raw.column(name) for name in day_names)), strict=True))
        hashes = hashing.result()
        account_id = trimmed["account_id"] if "account_id" in trimmed else _blank(rows)
        checking, version_hash = _rows_to_check(account_id, hashes, checked_before)
        trimmed.update(
            zip(
                contact_only,
                pool.map(_trimmed, (checking.take(raw.column(name)) for name in contact_only)),
                strict=True,
            )
        )
    blank = _blank(rows)
    blank_checked = _blank(checking.count)

    def get(name: str) -> pa.Array:
        return trimmed.get(name, blank_checked if name in CONTACT_FIELDS and name not in ALWAYS_CHECKED else blank)

    # A NUL byte passes every other check and then fails the whole day at the database's COPY;
    # U+FFFD stands for bytes that were not UTF-8 (a line exported in another encoding).
    for name in raw.column_names:
        text = get(name)
        found_in = _Problems()
        for found, reason in (
            ("\x00", "holds a NUL byte, which the ledger cannot store"),
            ("\ufffd", "holds bytes that are not UTF-8: this line's encoding is wrong"),
        ):
            if _anywhere(text, found):
                found_in.add(pc.match_substring(text, found), name, reason)
        failures.replay(checking.problems(found_in) if name in contact_only else found_in)
    failures.add(pc.equal(account_id, ""), "account_id", "is required")
    country = pc.utf8_upper(get("country"))
    if default_region:
        country = _or_default(country, default_region.upper())
    failures.add(pc.equal(country, ""), "country", "is required")
    failures.add(
        pc.invert(pc.match_substring_regex(country, r"^[A-Z]{2}$")),
        "country",
        lambda r: _quoted(country, r, "{} is not an ISO 3166 two-letter code"),
    )
    currency = pc.utf8_upper(get("currency"))
    failures.add(pc.equal(currency, ""), "currency", "is required")
    failures.add(
        pc.invert(pc.is_in(currency, pa.array(list(CURRENCY_EXPONENT)))),
        "currency",
        lambda r: _quoted(currency, r, "{} is not a supported currency"),
    )

    exponent = _exponents(currency)
    country_checked = checking.take(country)
    # The field checks are independent and Arrow releases the GIL, so they share the cores;
    # their problems are then recorded in schema order, which decides a row's first failure.
    checks: dict[str, Callable[[_Problems], Any]] = {
        **{name: partial(_phone, get(name), country_checked, phones, name) for name in PHONE_COLUMNS},
        "email": partial(_email, get("email")),
        "locale": partial(_locale, get("locale"), country_checked),
        "stated_timezone": partial(_stated_timezone, get("stated_timezone")),
        "balance_due": partial(_minor_units, get("balance_due"), currency, exponent, "balance_due", required=True),
        "minimum_due": partial(_minor_units, get("minimum_due"), currency, exponent, "minimum_due", required=False),
        "oldest_unpaid_due_date": partial(
            _dates, get("oldest_unpaid_due_date"), "oldest_unpaid_due_date", required=True
        ),
        "last_payment_date": partial(_dates, get("last_payment_date"), "last_payment_date", required=False),
        "last_payment_amount": partial(
            _minor_units, get("last_payment_amount"), currency, exponent, "last_payment_amount", required=False
        ),
        **{name: partial(_booleans, get(name), name) for name in CONSENT_COLUMNS},
        "flags": partial(_flags, get("flags")),
        "collector_type": partial(_collector_type, get("collector_type")),
        # Most books name no other parties: a column the source lacks costs nothing.
        **{
            name: partial(_phone, get(name), country_checked, phones, name)
            for name in PARTY_PHONE_COLUMNS
            if name in raw.column_names
        },
        **{name: partial(_email, get(name), name=name) for name in PARTY_EMAIL_COLUMNS if name in raw.column_names},
        **{
            name: partial(_booleans, get(name), name, blank_unstated=True)
            for name in PARTY_CONSENT_COLUMNS
            if name in raw.column_names
        },
    }
    with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        # The ids' encoding, for the duplicates, is made beside the checks; which rows it counts waits for them.
        identities = pool.submit(account_id.dictionary_encode)
        running = {name: pool.submit(_run_check, check) for name, check in checks.items()}
    checked: dict[str, Any] = {}
    for name, future in running.items():
        value, problems = future.result()
        if name in CONTACT_FIELDS:
            checked[name] = checking.spread(value)
            failures.replay(checking.problems(problems))
        else:
            checked[name] = value
            failures.replay(problems)

    _duplicates(identities.result(), lines, failures)

    def given(name: str) -> pa.Array:
        return checking.spread(_blank_to_null(get(name)))

    accounts = pa.table(
        {
            "account_id": account_id,
            "customer_id": checking.spread(_or_default(get("customer_id"), checking.take(account_id))),
            "name": checking.spread(get("name")),
            **{name: checked[name] for name in PHONE_COLUMNS},
            "email": checked["email"],
            "country": country,
            "region": checking.spread(_blank_to_null(pc.utf8_upper(get("region")))),
            "postal_code": given("postal_code"),
            "locale": checked["locale"],
            "stated_timezone": checked["stated_timezone"],
            "currency": currency,
            "balance_due_minor": checked["balance_due"],
            "minimum_due_minor": checked["minimum_due"],
            "oldest_unpaid_due_date": checked["oldest_unpaid_due_date"],
            "last_payment_date": checked["last_payment_date"],
            "last_payment_amount_minor": checked["last_payment_amount"],
            **{name: checked[name] for name in CONSENT_COLUMNS},
            "flags": checked["flags"],
            "product": given("product"),
            "collector_type": checked["collector_type"],
            **{name: _party_column(name, checked, get, checking) for name in PARTY_COLUMNS},
            "source_line": pa.array(lines, pa.int64()),
            "source_hash": pa.array(hashes, pa.int64()),
            "contacts_checked": pa.array(checking.flags()),
            "version_hash": version_hash,
        }
    )
    bad = np.flatnonzero(failures.failed)
    raw_bad = raw.take(bad).to_pylist() if len(bad) else []
    quarantined = [
        QuarantinedRow(source, int(lines[row]), str(failures.field[row]), str(failures.reason[row]), record)
        for row, record in zip(bad, raw_bad, strict=True)
    ]
    return PullResult(source=source, table=_without_rows(accounts, bad), quarantined=quarantined)


def _without_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table`` less ``rows`` (ascending positions). A day quarantines a few rows, if any: the others are
    kept as slices of ``table``, not copied (a copy of a million accounts is most of a second)."""
    if not len(rows):
        return table
    starts = np.concatenate([[0], rows + 1])
    ends = np.concatenate([rows, [table.num_rows]])
    kept = [(start, end) for start, end in zip(starts.tolist(), ends.tolist(), strict=True) if end > start]
    if len(kept) > MAX_KEPT_SLICES:
        return table.filter(pa.array(~flags_at(table.num_rows, rows)))
    return pa.concat_tables([table.slice(start, end - start) for start, end in kept]) if kept else table.slice(0, 0)


def strings_table(frame: pd.DataFrame) -> pa.Table:
    """Any frame as string columns, missing values empty: the form every source is validated in."""
    return pa.table(
        {
            str(name): pa.array(
                ["" if value is None or value != value else str(value) for value in frame[name]], pa.string()
            )
            for name in frame.columns
        }
    )


def validate_frame(
    raw: pd.DataFrame,
    lines: Iterable[int],
    source: str,
    phones: PhoneNormaliser | None = None,
    default_region: str | None = None,
) -> PullResult:
    """Validate raw rows given as a DataFrame (schema column names)."""
    return validate_table(strings_table(raw), np.asarray(list(lines)), source, phones, default_region)


def validate_records(records: list[dict[str, Any]], source: str = "records") -> PullResult:
    """Validate a handful of rows given as dicts (line numbers count from 2, as in a CSV)."""
    return validate_frame(pd.DataFrame(records, dtype=object), range(2, len(records) + 2), source)
