"""The day's large reads (a round of the book, the contact versions in effect, yesterday's buckets) go
through the fastest path each database has, and give back exactly what was written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select, update

from outreach.ledger.bulk import insert_rows
from outreach.ledger.bulk_reads import read_frame, read_table
from outreach.ledger.schema import account_contacts, account_snapshots, decisions, quarantined_rows
from tests.integration.test_bulk_writes import audit_row
from tests.integration.test_contact_versions import DAY, as_pulled, snapshot_row

# Text a CSV reader takes for a missing value unless told otherwise, and text that needs quoting.
AWKWARD_NAMES = [
    "NULL",
    "N/A",
    "nan",
    "",
    'Jane "JJ" Doe, Jr.',
    "two\nlines",
    "逾期 — ¿",
    "a trailing backslash \\",
]


def awkward_book() -> list[dict]:
    rows = []
    for n, name in enumerate(AWKWARD_NAMES):
        rows.append(
            snapshot_row(
                DAY,
                f"AC{n:03d}",
                name=name,
                region=None if n % 2 else "",
                email=None if n == 3 else f"jane{n}@example.com",
                consent_sms=n % 3 != 0,
                minimum_due_minor=None if n % 2 else 0,
                last_payment_date=DAY - timedelta(days=n) if n % 2 else None,
                last_payment_amount_minor=1_234_567_890_123 if n == 5 else None,
            )
        )
    return rows


def test_a_book_whose_text_looks_like_nothing_reads_back_as_it_was_written(ledger):
    """A name "NULL" or "N/A" is a name, an empty region is not a missing one, and an amount keeps its
    value, in the plan's read of the day and in the dispatch's read of some accounts."""
    written = awkward_book()
    ledger.replace_snapshot(DAY, as_pulled(written))

    day = ledger.snapshot(DAY).set_index("account_id")
    some = ledger.accounts_on(DAY, [row["account_id"] for row in written])
    for row in written:
        for read in (day.loc[row["account_id"]], some[row["account_id"]]):
            assert read["name"] == row["name"]
            assert read["region"] == row["region"]
            assert read["email"] == row["email"]
            assert bool(read["consent_sms"]) == row["consent_sms"]
            assert read["last_payment_date"] == row["last_payment_date"]
            if row["last_payment_amount_minor"] is None:
                assert read["last_payment_amount_minor"] is None
            else:
                assert int(read["last_payment_amount_minor"]) == row["last_payment_amount_minor"]


def test_the_fast_read_gives_the_frame_the_drivers_rows_give(postgres_ledger):
    """Column for column, type for type: the code that reads a round of the book sees no difference."""
    postgres_ledger.replace_snapshot(DAY, as_pulled(awkward_book()))
    query = select(*account_snapshots.columns).where(account_snapshots.c.business_date == DAY)
    with postgres_ledger.engine.connect() as conn:
        fast = read_frame(conn, query).sort_values("account_id", ignore_index=True)
        by_rows = pd.read_sql(query, conn).sort_values("account_id", ignore_index=True)
    # The ledger's readers take missing values as None, however the frame marked them.
    pd.testing.assert_frame_equal(as_read(fast), as_read(by_rows))
    for name in fast.columns:
        if by_rows[name].notna().any():
            assert fast[name].dtype.kind == by_rows[name].dtype.kind, name


def as_read(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


def test_yesterdays_buckets_are_the_newest_earlier_days(ledger):
    first = [snapshot_row(DAY, "AC001", bucket="M1"), snapshot_row(DAY, "AC002", bucket="M2")]
    ledger.replace_snapshot(DAY, as_pulled(first))
    later = DAY + timedelta(days=3)
    ledger.replace_snapshot(later, as_pulled([snapshot_row(later, "AC001", bucket="M2")]))

    assert ledger.latest_buckets_before(DAY).num_rows == 0
    assert sorted(ledger.latest_buckets_before(later).to_pylist(), key=lambda r: r["account_id"]) == [
        {"account_id": "AC001", "bucket": "M1"},
        {"account_id": "AC002", "bucket": "M2"},
    ]
    assert ledger.latest_buckets_before(later + timedelta(days=1)).to_pylist() == [
        {"account_id": "AC001", "bucket": "M2"}
    ]


def test_instants_are_the_same_instants_and_a_column_without_a_bulk_form_is_refused_by_name(postgres_ledger):
    at = datetime(2026, 11, 20, 14, 5, 6, 789000, tzinfo=UTC)
    with postgres_ledger.engine.begin() as conn:
        conn.exec_driver_sql("SET timezone TO 'Asia/Kolkata'")
        insert_rows(conn, decisions, [audit_row(1, "plain", at), audit_row(2, "", at + timedelta(hours=9))])
    with postgres_ledger.engine.connect() as conn:
        read = read_table(conn, select(decisions.c.decided_at).order_by(decisions.c.account_id))
        assert read.column("decided_at").to_pylist() == [at, at + timedelta(hours=9)]
        with pytest.raises(TypeError, match="raw"):
            read_table(conn, select(quarantined_rows.c.raw))


def test_dates_are_read_as_dates_whatever_style_the_server_writes_them_in(postgres_ledger):
    postgres_ledger.replace_snapshot(DAY, as_pulled([snapshot_row(DAY, "AC001")]))
    query = select(account_snapshots.c.oldest_unpaid_due_date).where(account_snapshots.c.account_id == "AC001")
    with postgres_ledger.engine.connect() as conn:
        conn.exec_driver_sql("SET datestyle TO 'SQL, DMY'")
        read = read_table(conn, query).column("oldest_unpaid_due_date").to_pylist()
    assert read == [DAY - timedelta(days=40)]
    assert isinstance(read[0], date)


def test_an_unchanged_account_keeps_its_version_beside_a_version_without_a_hash(ledger):
    """Versions moved from an older ledger carry no hash; an account that left the book keeps such a
    version open. The accounts pulled again unchanged beside it still write no new version."""
    ledger.replace_snapshot(DAY, as_pulled([snapshot_row(DAY, "AC001"), snapshot_row(DAY, "AC002")]))
    with ledger.engine.begin() as conn:
        conn.execute(update(account_contacts).where(account_contacts.c.account_id == "AC002").values(contact_hash=None))
    later = DAY + timedelta(days=1)
    ledger.replace_snapshot(later, as_pulled([snapshot_row(later, "AC001")]))

    with ledger.engine.connect() as conn:
        versions = conn.execute(
            select(account_contacts.c.valid_from).where(account_contacts.c.account_id == "AC001")
        ).all()
    assert len(versions) == 1
