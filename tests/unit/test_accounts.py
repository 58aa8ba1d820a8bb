from pathlib import Path
from unittest.mock import patch

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.accounts import SourceError, read_accounts, validate
from outreach.accounts.validate import validate_records
from tests.factories import raw_account, write_csv


def test_good_rows_are_normalised(tmp_path: Path):
    path = write_csv(tmp_path / "a.csv", [raw_account(mobile_phone="(212) 555-0142", balance_due="1,250.50")])
    result = read_accounts(path)
    assert result.quarantined == []
    account = result.accounts.iloc[0]
    assert account["mobile_phone"] == "+12125550142"
    assert account["balance_due_minor"] == 125050
    assert bool(account["consent_sms"]) is True
    assert account["source_line"] == 2


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("mobile_phone", "+1212555", "not a valid phone number"),
        ("mobile_phone", "call me", "not a phone number"),
        ("oldest_unpaid_due_date", "31/12/2025", "not a date"),
        ("oldest_unpaid_due_date", "2026-02-30", "not a date"),
        ("balance_due", "-5", "negative"),
        ("balance_due", "1.005", "more decimal places"),
        ("balance_due", "12 dollars", "not an amount"),
        ("balance_due", "", "is required"),
        ("flags", "bankrupcy", "unknown flag"),
        ("email", "jane.example.com", "not an email address"),
        ("account_id", "", "is required"),
        ("country", "USA", "two-letter"),
        ("currency", "XXX", "not a supported currency"),
        ("stated_timezone", "Mars/Olympus", "not an IANA timezone"),
        ("consent_sms", "maybe", "not yes/no"),
        ("locale", "fr", "not one of"),
        ("collector_type", "bank", "not one of"),
    ],
)
def test_a_bad_field_quarantines_the_row_with_line_field_and_reason(tmp_path: Path, field, value, reason):
    rows = [
        raw_account(account_id="GOOD1"),
        raw_account(**{"account_id": "BAD", field: value}),
        raw_account(account_id="GOOD2"),
    ]
    result = read_accounts(write_csv(tmp_path / "a.csv", rows))
    assert result.accounts["account_id"].tolist() == ["GOOD1", "GOOD2"]
    (bad,) = result.quarantined
    assert (bad.line, bad.field) == (3, field)
    assert reason in bad.reason


def test_duplicate_account_ids_keep_the_first_and_quarantine_the_rest(tmp_path: Path):
    result = read_accounts(write_csv(tmp_path / "a.csv", [raw_account(), raw_account()]))
    assert len(result.accounts) == 1
    assert result.quarantined[0].reason == "duplicate account_id, first seen on line 2"


def test_a_row_with_several_bad_fields_is_quarantined_for_the_first_in_schema_order(tmp_path: Path):
    # Fields are checked side by side; the reason kept is still the first field at fault.
    many = {"work_phone": "call me", "email": "nope", "locale": "fr", "balance_due": "-1", "flags": "bankrupcy"}
    rows = [raw_account(account_id=f"AC{n}", **dict(list(many.items())[n:])) for n in range(len(many))]
    result = read_accounts(write_csv(tmp_path / "a.csv", rows))
    assert [bad.field for bad in result.quarantined] == ["work_phone", "email", "locale", "balance_due", "flags"]


def test_short_records_and_line_numbers_survive_quoted_newlines(tmp_path: Path):
    path = write_csv(tmp_path / "a.csv", [raw_account(name="Jane\nDoe"), raw_account(account_id="AC2")])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("AC3,CU3,Cut Short\n")
        handle.write(",".join(raw_account(account_id="AC4").values()) + "\n")
    result = read_accounts(path)
    assert result.accounts["source_line"].tolist() == [2, 4, 6]
    (short,) = result.quarantined
    assert (short.line, short.field) == (5, "record")
    assert "expected 24 fields, found 3" in short.reason


def test_a_missing_file_names_the_file(tmp_path: Path):
    with pytest.raises(SourceError, match=r"accounts file .*nowhere\.csv does not exist"):
        read_accounts(tmp_path / "nowhere.csv")


def test_a_missing_required_column_names_the_column(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text("account_id,country\nAC1,US\n")
    with pytest.raises(SourceError, match=r"line 1: missing required column\(s\) 'currency'"):
        read_accounts(path)


def test_an_empty_file_is_an_empty_day(tmp_path: Path):
    header_only = write_csv(tmp_path / "a.csv", [])
    assert read_accounts(header_only).rows_read == 0
    blank = tmp_path / "b.csv"
    blank.write_text("")
    assert read_accounts(blank).rows_read == 0


def test_parquet_sources_report_row_numbers(tmp_path: Path):
    path = tmp_path / "a.parquet"
    pd.DataFrame([raw_account(), raw_account(account_id="AC2", email="bad")]).to_parquet(path)
    result = read_accounts(path)
    assert len(result.accounts) == 1
    assert (result.quarantined[0].line, result.quarantined[0].field) == (2, "email")


def test_the_other_parties_contact_points_are_read_checked_and_quarantined_by_field(tmp_path: Path):
    parties = {
        "guarantor_name": "Alex Roe",
        "guarantor_phone": "(212) 555-0188",
        "guarantor_email": "alex.roe@example.com",
        "guarantor_consent": "yes",
        "attorney_email": "counsel@example-law.com",
    }
    rows = [
        raw_account(**parties),
        raw_account(account_id="AC2", **{**parties, "guarantor_phone": "call me"}),
        raw_account(account_id="AC3", **{**parties, "attorney_email": "counsel at law"}),
        raw_account(account_id="AC4", **{**parties, "guarantor_consent": "maybe"}),
    ]
    result = read_accounts(write_csv(tmp_path / "a.csv", rows))
    (good,) = result.accounts.to_dict("records")
    assert (good["guarantor_phone"], good["guarantor_email"], good["guarantor_consent"]) == (
        "+12125550188",
        "alex.roe@example.com",
        True,
    )
    # A party the row does not name has no consent either way.
    assert pd.isna(good["attorney_consent"]) and pd.isna(good["co_borrower_email"])
    assert [(bad.line, bad.field) for bad in result.quarantined] == [
        (3, "guarantor_phone"),
        (4, "attorney_email"),
        (5, "guarantor_consent"),
    ]


@settings(max_examples=40, deadline=None)
@given(bad=st.lists(st.booleans(), min_size=0, max_size=40), copied_beyond=st.sampled_from([2, 256]))
def test_every_good_row_flows_on_in_order_however_the_bad_ones_fall(bad, copied_beyond):
    """The accepted accounts are the good rows in their order, whether they are kept as runs between
    the quarantined rows or copied into one table once the runs are many."""
    rows = [raw_account(account_id=f"AC{n}", currency="XXX" if fails else "USD") for n, fails in enumerate(bad)]
    with patch.object(validate, "MAX_KEPT_SLICES", copied_beyond):
        result = validate_records(rows)
    assert result.table.column("account_id").to_pylist() == [f"AC{n}" for n, fails in enumerate(bad) if not fails]
    assert result.table.column("balance_due_minor").to_pylist() == [125050] * bad.count(False)
    assert [row.line for row in result.quarantined] == [n + 2 for n, fails in enumerate(bad) if fails]


@settings(max_examples=40, deadline=None)
@given(
    row=st.integers(0, 9),
    field=st.sampled_from(["name", "postal_code", "product"]),
    found=st.sampled_from(["\x00", "\ufffd"]),
    at=st.integers(0, 6),
)
def test_a_nul_byte_or_a_replacement_character_quarantines_its_row_wherever_it_falls(row, field, found, at):
    rows = [raw_account(account_id=f"AC{n}", name=f"Holder {n}", postal_code="10001") for n in range(10)]
    value = rows[row][field] or "x"
    rows[row][field] = value[:at] + found + value[at:]
    result = validate_records(rows)
    assert [(q.line, q.field) for q in result.quarantined] == [(row + 2, field)]
    assert ("NUL byte" if found == "\x00" else "not UTF-8") in result.quarantined[0].reason
    assert result.table.num_rows == 9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["AC1", "AC2", "AC3", "AC4"]), st.booleans()), min_size=1, max_size=25))
def test_of_the_good_rows_with_one_account_id_the_first_is_kept_and_the_others_name_its_line(rows):
    """A row quarantined for another field does not count as the account's first; a later good row does."""
    records = [raw_account(account_id=account, currency="USD" if good else "XXX") for account, good in rows]
    result = validate_records(records)

    first_line: dict[str, int] = {}
    expected_kept, expected_quarantined = [], []
    for line, (account, good) in enumerate(rows, start=2):
        if not good:
            expected_quarantined.append((line, "currency", None))
        elif account in first_line:
            expected_quarantined.append(
                (line, "account_id", f"duplicate account_id, first seen on line {first_line[account]}")
            )
        else:
            first_line[account] = line
            expected_kept.append(account)
    assert result.table.column("account_id").to_pylist() == expected_kept
    got = [(q.line, q.field, q.reason if q.field == "account_id" else None) for q in result.quarantined]
    assert got == expected_quarantined
