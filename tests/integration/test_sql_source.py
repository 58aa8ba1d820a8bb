"""A core-banking table read through SQL, on SQLite and on PostgreSQL."""

from datetime import date

import pytest
from sqlalchemy import create_engine, text

from outreach.accounts import SourceError, SourceSpec, read_source

DAY = date(2026, 11, 20)
MAPPING = {
    "acct_no": "account_id",
    "mobile": "mobile_phone",
    "ctry": "country",
    "ccy": "currency",
    "bal": "balance_due",
    "due_dt": "oldest_unpaid_due_date",
    "sms_ok": "consent_sms",
}


def seed(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS delinquent"))
        conn.execute(
            text(
                "CREATE TABLE delinquent (acct_no VARCHAR(20), mobile VARCHAR(20), ctry CHAR(2), "
                "ccy CHAR(3), bal NUMERIC(12, 2), due_dt DATE, sms_ok BOOLEAN, as_of DATE)"
            )
        )
        conn.execute(
            text("INSERT INTO delinquent VALUES (:a, :m, 'US', 'USD', :b, :d, :s, :o)"),
            [
                {"a": "4000001", "m": "+12125550142", "b": "1034.10", "d": date(2026, 10, 31), "s": True, "o": DAY},
                {"a": "4000002", "m": "555", "b": "20.00", "d": date(2026, 11, 1), "s": False, "o": DAY},
                {
                    "a": "4000003",
                    "m": "+12125550143",
                    "b": "5.00",
                    "d": date(2026, 11, 1),
                    "s": True,
                    "o": date(2026, 11, 19),
                },
            ],
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def source_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'core.db'}"
    else:
        url = request.getfixturevalue("postgres_server_url")
    seed(url)
    return url


def test_a_query_with_the_business_date_reads_that_day_only(source_url):
    spec = SourceSpec(
        kind="sql",
        url=source_url,
        columns=MAPPING,
        query="SELECT * FROM delinquent WHERE as_of = :business_date ORDER BY acct_no",
    )
    result = read_source(spec, DAY)
    assert result.accounts["account_id"].tolist() == ["4000001"]
    account = result.accounts.iloc[0]
    assert account["balance_due_minor"] == 103410
    assert account["oldest_unpaid_due_date"] == date(2026, 10, 31)
    (bad,) = result.quarantined
    assert (bad.line, bad.field) == (2, "mobile_phone")


def test_a_table_source_reads_every_row(source_url):
    spec = SourceSpec(kind="sql", url=source_url, table="delinquent", columns=MAPPING)
    assert read_source(spec, DAY).rows_read == 3


def test_a_connection_id_is_resolved_by_the_caller(source_url):
    spec = SourceSpec(kind="sql", conn_id="core_banking", table="delinquent", columns=MAPPING)
    assert read_source(spec, DAY, resolve_connection={"core_banking": source_url}.__getitem__).rows_read == 3
    with pytest.raises(SourceError, match="needs Airflow to resolve it"):
        read_source(spec, DAY)


def test_an_unreachable_source_fails_naming_it_without_the_password():
    spec = SourceSpec(kind="sql", url="postgresql+psycopg2://bank:s3cret@127.0.0.1:1/core", table="delinquent")
    with pytest.raises(SourceError) as caught:
        read_source(spec, DAY)
    assert "sql:delinquent@postgresql+psycopg2://bank:***@127.0.0.1:1/core" in str(caught.value)
    assert "s3cret" not in str(caught.value)
