"""A day's pull validates only the rows that differ from the last day's accepted ones, and the result
is the one a validation of every row gives: the same accounts, values, lines and quarantine."""

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.accounts.known_rows import KNOWN_NAME, read_known, validate_changed, write_known
from outreach.accounts.staging import write_staged
from outreach.accounts.validate import strings_table, validate_table
from tests.factories import raw_account

# Each field's values, good and bad alike: a row may be accepted one day and quarantined the next.
FIELD_VALUES = {
    "mobile_phone": ["+12125550142", "(212) 555-0199", "+1212555", "", "call me"],
    "email": ["jane.doe@example.com", "new.jane@example.com", "jane.example.com", ""],
    "balance_due": ["1250.50", "1,250.50", "12 dollars", "-5", "0.00"],
    "oldest_unpaid_due_date": ["2026-11-01", "2026-10-01", "2026-02-30"],
    "consent_sms": ["yes", "no", "maybe"],
    "flags": ["", "dispute", "bankrupcy"],
    "country": ["US", "USA", "CA"],
    "name": ["Jane Doe", "Zoë O'Brien", "NUL\x00byte"],
}
ACCOUNTS = [f"AC{n}" for n in range(1, 9)]

rows = st.fixed_dictionaries(
    {"account_id": st.sampled_from(ACCOUNTS + [""])}, optional={k: st.sampled_from(v) for k, v in FIELD_VALUES.items()}
).map(lambda fields: raw_account(**fields))
books = st.lists(rows, max_size=12)


def raw_table(book: list[dict[str, str]]):
    columns = list(raw_account())
    return strings_table(pd.DataFrame(book, columns=columns, dtype=object))


def lines_of(book: list) -> np.ndarray:
    return np.arange(2, len(book) + 2, dtype=np.int64)


def kept_by_the_last_pull(tmp_path: Path, book: list[dict[str, str]]):
    """The last day as its pull left it in the run's folder, read back as the next pull reads it."""
    raw = raw_table(book)
    result = validate_table(raw, lines_of(book), "yesterday.csv")
    write_staged(result.table, tmp_path / "accounts.arrow")
    write_known(tmp_path / KNOWN_NAME, raw, result, None)
    return read_known(tmp_path / KNOWN_NAME, tmp_path / "accounts.arrow", None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(yesterday=books, edits=st.lists(st.tuples(st.integers(0, 11), rows), max_size=4), new=books, data=st.data())
def test_validating_only_the_changed_rows_gives_what_validating_every_row_gives(tmp_path, yesterday, edits, new, data):
    known = kept_by_the_last_pull(tmp_path, yesterday)
    # Today: yesterday's rows in another order, some of them edited, some gone, some new ones.
    today = data.draw(st.permutations(yesterday))
    for position, row in edits:
        if today and position < len(today):
            today[position] = row
    today = today[: data.draw(st.integers(0, len(today)))] + new

    raw = raw_table(today)
    everything = validate_table(raw, lines_of(today), "today.csv")
    changed_only = validate_changed(raw, lines_of(today), "today.csv", known)

    assert changed_only.table.equals(everything.table)
    assert changed_only.quarantined == everything.quarantined
    assert changed_only.accepted_rows.tolist() == everything.accepted_rows.tolist()


def test_an_unchanged_book_is_not_validated_again_and_a_change_is(tmp_path, caplog):
    book = [raw_account(account_id=f"AC{n}", mobile_phone=f"+1212555{n:04d}") for n in range(1, 6)]
    known = kept_by_the_last_pull(tmp_path, book)
    book[2] = raw_account(account_id="AC3", mobile_phone="call me")
    caplog.set_level("INFO", "outreach.accounts.known_rows")

    result = validate_changed(raw_table(book), lines_of(book), "today.csv", known)

    assert "validated 1 of 5 rows" in caplog.text
    assert [(q.line, q.field) for q in result.quarantined] == [(4, "mobile_phone")]
    assert result.table.column("account_id").to_pylist() == ["AC1", "AC2", "AC4", "AC5"]


def test_rows_validated_by_other_rules_are_validated_again(tmp_path, caplog):
    book = [raw_account(account_id="AC1", mobile_phone="(212) 555-0142", country="")]
    raw = raw_table(book)
    result = validate_table(raw, lines_of(book), "yesterday.csv", default_region="US")
    write_staged(result.table, tmp_path / "accounts.arrow")
    write_known(tmp_path / KNOWN_NAME, raw, result, "US")

    # Another default region today: yesterday's validated form of the row is not today's.
    assert read_known(tmp_path / KNOWN_NAME, tmp_path / "accounts.arrow", "CA") is None
    assert read_known(tmp_path / "gone" / KNOWN_NAME, tmp_path / "gone.arrow", "US") is None
