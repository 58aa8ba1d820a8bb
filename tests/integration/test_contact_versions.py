"""Each day keeps its segmentation facts and each account its contact details once per version:
every day still reads as it was pulled, on SQLite and PostgreSQL, and the snapshots of a ledger
from before move into the new shape without losing a day."""

import threading
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from outreach.accounts.schema import PARTY_COLUMNS
from outreach.ledger import Ledger
from outreach.ledger.day_partitions import partition_name
from outreach.ledger.migrate import _config
from outreach.ledger.schema import CONTACT_COLUMNS, account_contacts, account_days, account_snapshots
from outreach.shards import account_hash

DAY = date(2026, 11, 19)
ARROW_TYPES = {"DATE": pa.date32(), "BIGINT": pa.int64(), "INTEGER": pa.int64(), "BOOLEAN": pa.bool_()}
CONTACTS = ("mobile_phone", "email", "consent_sms")


def snapshot_row(day: date, account_id: str, **contact) -> dict:
    row = {
        "business_date": day,
        "account_id": account_id,
        "run_id": f"run-{day}",
        "customer_id": f"CU-{account_id}",
        "name": "Jane Doe",
        "mobile_phone": "+12125550100",
        "home_phone": None,
        "work_phone": None,
        "email": "jane@example.com",
        "country": "US",
        "region": "NY",
        "postal_code": "10001",
        "locale": "en",
        "stated_timezone": None,
        "currency": "USD",
        "balance_due_minor": 125050 + (day - DAY).days,
        "minimum_due_minor": 6250,
        "oldest_unpaid_due_date": DAY - timedelta(days=40),
        "last_payment_date": None,
        "last_payment_amount_minor": None,
        "consent_sms": True,
        "consent_voice": True,
        "consent_email": True,
        "flags": "",
        "product": "credit_card",
        "collector_type": "first_party",
        "source_line": 2,
        "dpd": 40 + (day - DAY).days,
        "bucket": "M2",
        "previous_bucket": "M2",
        "roll": "same",
    }
    row.update(contact)
    return row


def as_pulled(rows: list[dict]) -> pa.Table:
    """A segmented day as the pull hands it to the ledger."""
    schema = pa.schema(
        [pa.field(column.name, ARROW_TYPES.get(str(column.type), pa.string())) for column in account_snapshots.columns]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def contacts_on(ledger: Ledger, day: date) -> dict[str, tuple]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(account_snapshots.c.account_id, *(account_snapshots.c[c] for c in CONTACTS)).where(
                account_snapshots.c.business_date == day
            )
        ).all()
    on_the_day = {account: (mobile, email, bool(consent)) for account, mobile, email, consent in rows}
    assert len(on_the_day) == len(rows), f"{day}: an account read twice (two versions in effect)"
    return on_the_day


def versions(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(account_contacts)).scalar()


def test_a_day_writes_only_the_contact_details_that_changed(ledger):
    day_two = DAY + timedelta(days=1)
    ledger.replace_snapshot(DAY, as_pulled([snapshot_row(DAY, f"AC{n}") for n in range(1, 4)]))
    assert versions(ledger) == 3

    moved = snapshot_row(day_two, "AC2", mobile_phone="+13105550111")
    ledger.replace_snapshot(day_two, as_pulled([snapshot_row(day_two, "AC1"), moved, snapshot_row(day_two, "AC3")]))
    assert versions(ledger) == 4, "one account changed its number: one new version"
    ledger.replace_snapshot(day_two, as_pulled([snapshot_row(day_two, "AC1"), moved, snapshot_row(day_two, "AC3")]))
    assert versions(ledger) == 4, "the same day pulled again writes no version"

    assert contacts_on(ledger, DAY)["AC2"][0] == "+12125550100"
    assert contacts_on(ledger, day_two)["AC2"][0] == "+13105550111"
    snapshot = ledger.snapshot(day_two).set_index("account_id")
    assert snapshot.loc["AC2", "dpd"] == 41 and snapshot.loc["AC2", "mobile_phone"] == "+13105550111"


# A business week and a few contact details: pulls come in any order, again and again, as re-runs do.
DAYS = [DAY + timedelta(days=n) for n in range(5)]
contact_details = st.tuples(
    st.sampled_from(["+12125550100", "+13105550111", None]),
    st.sampled_from(["jane@example.com", "new.jane@example.com", None]),
    st.booleans(),
)
pulls = st.lists(
    st.tuples(
        st.sampled_from(DAYS),
        st.dictionaries(st.sampled_from(["AC1", "AC2", "AC3"]), contact_details, min_size=1),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pulls)
def test_every_day_reads_as_it_was_last_pulled_whatever_the_order_of_pulls(tmp_path, pulls):
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / f'versions-{id(pulls)}.db'}")
    ledger.create_schema()
    expected: dict[date, dict[str, tuple]] = {}
    try:
        for day, book in pulls:
            rows = [
                snapshot_row(day, account, **dict(zip(CONTACTS, details, strict=True)))
                for account, details in sorted(book.items())
            ]
            ledger.replace_snapshot(day, as_pulled(rows))
            expected[day] = book
            for pulled_day, pulled in expected.items():
                assert contacts_on(ledger, pulled_day) == pulled, f"{pulled_day} after pulling {day}"
    finally:
        ledger.dispose()
        Path(tmp_path / f"versions-{id(pulls)}.db").unlink(missing_ok=True)


def test_snapshots_of_an_earlier_ledger_move_into_versions_without_losing_a_day(ledger):
    config = _config(ledger.engine)
    with ledger.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0017")
    # A pooled SQLite connection still knows the view and would refuse the insert.
    ledger.engine.dispose()
    days = [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    kept = [
        # The same details every day: one version.
        *(snapshot_row(day, "AC1") for day in days),
        # A new number on day 2, back to the old one on day 3: three versions.
        snapshot_row(days[0], "AC2"),
        snapshot_row(days[1], "AC2", mobile_phone="+13105550111"),
        snapshot_row(days[2], "AC2"),
        # Away on day 2 (cured), back on day 3 with the same details: one version.
        snapshot_row(days[0], "AC3", email=None),
        snapshot_row(days[2], "AC3", email=None),
    ]
    with ledger.engine.begin() as conn:
        conn.execute(insert(account_snapshots), kept)

    ledger.create_schema()

    with ledger.engine.connect() as conn:
        moved = conn.execute(select(account_snapshots)).mappings().all()
    key = lambda row: (row["business_date"], row["account_id"])  # noqa: E731
    # Parties came later (0020): an earlier day names none.
    as_read = {key(row): {k: _plain(v) for k, v in row.items() if k not in PARTY_COLUMNS} for row in moved}
    assert as_read == {key(row): {k: _plain(v) for k, v in row.items()} for row in kept}
    assert all(row[name] is None for row in moved for name in PARTY_COLUMNS)
    assert versions(ledger) == 5
    # Every day moved in is found in its account's shard and round.
    with ledger.engine.connect() as conn:
        hashes = conn.execute(select(account_days.c.account_id, account_days.c.account_hash)).all()
    assert len(hashes) == len(kept) and all(hashed == account_hash(account) for account, hashed in hashes)
    if ledger.dialect == "postgresql":
        assert day_tables(ledger) == {day: partition_name(day) for day in days}


def day_tables(ledger: Ledger) -> dict[date, str]:
    """Each business date's partition of the day facts on PostgreSQL, by date."""
    with ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT child.relname, pg_get_expr(child.relpartbound, child.oid) FROM pg_inherits "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid WHERE inhparent = 'account_days'::regclass"
        ).all()
    return {date.fromisoformat(bound.split("'")[1]): name for name, bound in rows}


def test_a_day_pulled_again_replaces_that_day_alone(ledger):
    days = [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    for day in days:
        ledger.replace_snapshot(day, as_pulled([snapshot_row(day, f"AC{n}") for n in range(1, 4)]))

    again = [snapshot_row(days[1], "AC1", balance_due_minor=1), snapshot_row(days[1], "AC4")]
    ledger.replace_snapshot(days[1], as_pulled(again))

    balances = {day: ledger.snapshot(day).set_index("account_id")["balance_due_minor"].to_dict() for day in days}
    assert balances[days[1]] == {"AC1": 1, "AC4": 125051}
    assert balances[days[0]] == {f"AC{n}": 125050 for n in range(1, 4)}
    assert balances[days[2]] == {f"AC{n}": 125052 for n in range(1, 4)}
    ledger.clear_snapshot(days[2])
    assert ledger.snapshot(days[2]).empty and ledger.latest_business_date() == days[1]
    if ledger.dialect == "postgresql":
        assert day_tables(ledger) == {day: partition_name(day) for day in days[:2]}


def _plain(value):
    """Dates as dates and flags as booleans, as each database gives them back."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return date.fromisoformat(value)
    if hasattr(value, "date") and not isinstance(value, date):
        return value.date()
    return value


def test_a_new_guarantor_is_a_new_version_and_a_book_that_names_no_one_keeps_its_versions(ledger):
    """Versions written before parties were kept match an account that names none: an upgrade does not
    write the whole book again; naming a guarantor, or changing one, does write a version."""
    # A day of the book as a source without the parties' columns gives it (the columns before 0020).
    without_parties = as_pulled([snapshot_row(DAY, "AC1"), snapshot_row(DAY, "AC2")])
    before = without_parties.drop_columns([c for c in PARTY_COLUMNS if c in without_parties.column_names])
    ledger.replace_snapshot(DAY, before)
    assert versions(ledger) == 2
    # The hash is still the one the ledger wrote before parties were kept: of the debtor's columns only.
    debtor_columns = [c for c in CONTACT_COLUMNS[1:] if c not in PARTY_COLUMNS]
    earlier_hash = pd.util.hash_pandas_object(before.select(debtor_columns).to_pandas(), index=False)
    with ledger.engine.connect() as conn:
        stored = dict(conn.execute(select(account_contacts.c.account_id, account_contacts.c.contact_hash)).all())
    assert [stored["AC1"], stored["AC2"]] == list(earlier_hash.to_numpy().view("int64"))

    day_two, day_three = DAY + timedelta(days=1), DAY + timedelta(days=2)
    guarantor = {"guarantor_name": "Alex Roe", "guarantor_email": "alex@example.com", "guarantor_consent": True}
    ledger.replace_snapshot(
        day_two, as_pulled([snapshot_row(day_two, "AC1"), snapshot_row(day_two, "AC2", **guarantor)])
    )
    assert versions(ledger) == 3, "only the account that now names a guarantor has a new version"
    changed = {**guarantor, "guarantor_email": "alex.roe@example.com"}
    ledger.replace_snapshot(
        day_three, as_pulled([snapshot_row(day_three, "AC1"), snapshot_row(day_three, "AC2", **changed)])
    )
    assert versions(ledger) == 4
    books = {day: ledger.snapshot(day).set_index("account_id") for day in (DAY, day_two, day_three)}
    assert books[DAY].loc["AC2", "guarantor_email"] is None
    assert books[day_two].loc["AC2", "guarantor_email"] == "alex@example.com"
    assert books[day_three].loc["AC2", "guarantor_email"] == "alex.roe@example.com"
    assert bool(books[day_three].loc["AC2", "guarantor_consent"]) is True


def test_a_day_stays_readable_while_a_re_run_of_it_loads(postgres_ledger, monkeypatch):
    from outreach.ledger import store

    ledger = postgres_ledger
    ledger.replace_snapshot(DAY, as_pulled([snapshot_row(DAY, f"AC{n}") for n in range(1, 4)]))
    loaded, go_on = threading.Event(), threading.Event()

    def insert_then_wait(conn, table, rows):
        store.bulk.insert_table(conn, table, rows)
        if table.startswith(partition_name(DAY)):
            loaded.set()
            go_on.wait(30)

    monkeypatch.setattr(store, "insert_table", insert_then_wait)
    again = as_pulled([snapshot_row(DAY, f"AC{n}", balance_due_minor=1) for n in range(1, 4)])
    rerun = threading.Thread(target=ledger.replace_snapshot, args=(DAY, again))
    rerun.start()
    try:
        assert loaded.wait(30)
        # Read while the re-run's rows are loaded but not yet committed: the day as it was, at once.
        read: list = []
        reader = threading.Thread(target=lambda: read.append(ledger.snapshot(DAY)))
        reader.start()
        reader.join(10)
        assert not reader.is_alive(), "a reader of the day waited for the re-run's load"
        assert set(read[0]["balance_due_minor"]) == {125050}
    finally:
        go_on.set()
        rerun.join(30)
    assert set(ledger.snapshot(DAY)["balance_due_minor"]) == {1}
