"""Source specs: a bank's own column names, DPD instead of due dates, and what goes wrong."""

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outreach.accounts import SourceError, SourceSpec, load_spec, read_source
from tests.factories import raw_account, write_csv

DAY = date(2026, 11, 20)
BANK_COLUMNS = {
    "ACCT_NO": "account_id",
    "CUST_NO": "customer_id",
    "MOBILE": "mobile_phone",
    "CTRY": "country",
    "CCY": "currency",
    "BAL": "balance_due",
    "DUE_DT": "oldest_unpaid_due_date",
    "SMS_OK": "consent_sms",
}


def bank_export(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_column_mapping_reads_the_bank_export_as_it_is(tmp_path):
    path = bank_export(
        tmp_path / "export.csv",
        [
            {
                "ACCT_NO": "4000123",
                "CUST_NO": "C9",
                "MOBILE": "212-555-0142",
                "CTRY": "",
                "CCY": "USD",
                "BAL": "1,034.10",
                "DUE_DT": "2026-10-31",
                "SMS_OK": "Y",
                "BRANCH": "ignored",
            },
        ],
    )
    spec = SourceSpec(kind="csv", path=str(path), columns=BANK_COLUMNS, default_region="US")
    result = read_source(spec, DAY)
    account = result.accounts.iloc[0]
    assert (account["account_id"], account["country"], account["mobile_phone"]) == ("4000123", "US", "+12125550142")
    assert account["balance_due_minor"] == 103410 and bool(account["consent_sms"])


def test_a_missing_mapped_column_names_the_bank_column_and_the_mapping(tmp_path):
    path = bank_export(tmp_path / "export.csv", [{"ACCT_NO": "1", "CTRY": "US", "CCY": "USD", "BAL": "1"}])
    spec = SourceSpec(kind="csv", path=str(path), columns=BANK_COLUMNS)
    with pytest.raises(SourceError, match=r"'DUE_DT' \(mapped to oldest_unpaid_due_date\)"):
        read_source(spec, DAY)


def test_days_past_due_can_replace_the_due_date(tmp_path):
    rows = [dict(raw_account(account_id=f"A{dpd}"), dpd=str(dpd)) for dpd in (1, 31, 400)]
    for row in rows:
        del row["oldest_unpaid_due_date"]
    rows.append(dict(raw_account(account_id="BAD"), dpd="soon"))
    del rows[-1]["oldest_unpaid_due_date"]
    path = bank_export(tmp_path / "export.csv", rows)
    result = read_source(SourceSpec(kind="csv", path=str(path)), DAY)
    assert result.accounts["oldest_unpaid_due_date"].tolist() == [
        date(2026, 11, 19),
        date(2026, 10, 20),
        date(2025, 10, 16),
    ]
    (bad,) = result.quarantined
    assert bad.field == "oldest_unpaid_due_date" and "dpd=soon" in bad.reason


def test_typed_parquet_columns_stay_exact(tmp_path):
    path = tmp_path / "book.parquet"
    row = raw_account()
    table = pa.table(
        {
            **{k: [v] for k, v in row.items()},
            "balance_due": pa.array([__import__("decimal").Decimal("1250.50")], pa.decimal128(12, 2)),
            "oldest_unpaid_due_date": pa.array([date(2026, 11, 1)], pa.date32()),
            "consent_sms": pa.array([True]),
        }
    )
    pq.write_table(table, path)
    account = read_source(SourceSpec(kind="parquet", path=str(path)), DAY).accounts.iloc[0]
    assert account["balance_due_minor"] == 125050
    assert account["oldest_unpaid_due_date"] == date(2026, 11, 1) and bool(account["consent_sms"])


def test_a_parquet_book_with_64_bit_text_offsets_reads_as_the_same_accounts(tmp_path):
    # pandas writes its text columns this way; validation narrows them itself.
    good = {**raw_account(), "account_id": " AC1 ", "mobile_phone": "(415) 555-0100"}
    bad = {**raw_account(), "account_id": "AC2", "oldest_unpaid_due_date": "yesterday"}
    plain = pa.Table.from_pylist([good, bad])
    wide = plain.cast(pa.schema([(name, pa.large_string()) for name in plain.column_names]))
    results = {}
    for name, table in (("plain", plain), ("wide", wide)):
        pq.write_table(table, tmp_path / f"{name}.parquet")
        results[name] = read_source(SourceSpec(kind="parquet", path=str(tmp_path / f"{name}.parquet")), DAY)
    assert results["wide"].table.equals(results["plain"].table)
    assert results["wide"].table.column("account_id").to_pylist() == ["AC1"]
    assert [(q.line, q.field) for q in results["wide"].quarantined] == [(2, "oldest_unpaid_due_date")]


def test_the_path_may_name_the_business_date(tmp_path):
    write_csv(tmp_path / "accounts-2026-11-20.csv", [raw_account()])
    spec = SourceSpec(kind="csv", path=str(tmp_path / "accounts-{business_date}.csv"))
    assert len(read_source(spec, DAY).accounts) == 1


def test_fsspec_urls_are_read_like_paths(tmp_path):
    write_csv(tmp_path / "a.csv", [raw_account()])
    assert len(read_source(SourceSpec(kind="csv", path=f"file://{tmp_path / 'a.csv'}"), DAY).accounts) == 1


def test_a_bad_spec_file_names_the_file_and_the_field(tmp_path):
    path = tmp_path / "source.yaml"
    path.write_text("kind: sql\nquery: select 1\ncolumns: {A: account_number}\n")
    with pytest.raises(SourceError, match=r"source\.yaml: .*needs a url or a conn_id"):
        load_spec(path)
    path.write_text("kind: csv\npath: x.csv\ncolumns: {A: account_number}\n")
    with pytest.raises(SourceError, match=r"unknown schema field\(s\) \['account_number'\]"):
        load_spec(path)


def test_a_line_in_another_encoding_quarantines_that_line_and_the_rest_flows(tmp_path):
    path = write_csv(
        tmp_path / "book.csv",
        [raw_account(account_id="AC1"), raw_account(account_id="AC2", name="JOSE"), raw_account(account_id="AC3")],
    )
    # The second account's name arrives in Latin-1, as one system's export might.
    path.write_bytes(path.read_bytes().replace(b"JOSE", "JOSÉ".encode("latin-1")))
    result = read_source(SourceSpec(kind="csv", path=str(path)), DAY)
    assert list(result.accounts["account_id"]) == ["AC1", "AC3"]
    (bad,) = result.quarantined
    assert (bad.line, bad.field) == (3, "name") and "not UTF-8" in bad.reason


def test_a_parquet_column_of_a_type_accounts_cannot_hold_names_the_file_and_the_column(tmp_path):
    path = tmp_path / "book.parquet"
    row = raw_account()
    pq.write_table(pa.table({**{k: [v] for k, v in row.items()}, "tags": pa.array([["vip"]])}), path)
    with pytest.raises(SourceError, match=r"book\.parquet: column 'tags' is of type list"):
        read_source(SourceSpec(kind="parquet", path=str(path)), DAY)


@pytest.mark.parametrize("closed_later", [False, True], ids=["never closed", "closed by a later quote"])
def test_one_stray_quote_costs_its_own_line_not_the_rest_of_the_file(tmp_path, closed_later):
    rows = [raw_account(account_id=f"AC{i:04d}", name=f"Person {i}") for i in range(1, 1001)]
    path = write_csv(tmp_path / "book.csv", rows)
    lines = path.read_text().split("\n")
    lines[101] = lines[101].replace("Person 101", '"Person 101')  # line 102 opens a quote it never closes
    if closed_later:
        lines[700] = lines[700].replace("Person 700", '"Person 700"')  # a quoted field further down
    path.write_text("\n".join(lines))

    result = read_source(SourceSpec(kind="csv", path=str(path)), DAY)
    (bad,) = result.quarantined
    assert bad.line == 102 and "quote" in bad.reason
    assert len(result.accounts) + len(result.quarantined) == 1000, "rows read equal the file's records"
    assert "AC0101" not in set(result.accounts["account_id"]) and "AC0700" in set(result.accounts["account_id"])
    assert list(result.accounts["name"][100:102]) == ["Person 102", "Person 103"]


def test_a_value_that_really_spans_lines_is_kept_whole(tmp_path):
    rows = [raw_account(account_id=f"AC{i}", name=f"Person {i}") for i in range(1, 6)]
    rows[2]["name"] = "Person\nThree"
    result = read_source(SourceSpec(kind="csv", path=str(write_csv(tmp_path / "book.csv", rows))), DAY)
    assert len(result.accounts) == 5 and not result.quarantined
