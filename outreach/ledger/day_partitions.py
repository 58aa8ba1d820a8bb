"""Each business date's facts as a table of their own on PostgreSQL: a partition of ``account_days``.

A day's million rows go into a new table with no index, are indexed once, sorted, and the table is
attached as that date's partition (``load_day``, then ``swap_in_day``). Loaded into one table holding
every day, each row's two index entries went in one at a time among all the earlier days' (4.8 s of
the database's time for a million rows on a ledger of two days, and more with every day kept); into a
table of its own, indexed once, 2.1 s however many days the ledger holds. A re-run of a day drops
its partition rather than deleting a million rows, once the new one is loaded, and a bank's
retention of old days is a ``DROP TABLE`` of each.

SQLite keeps every day in the one table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import delete

from outreach.ledger.schema import account_days

# Memory for building a day's indexes: enough to sort a million accounts' keys.
INDEX_BUILD_KB = 128 * 1024


def _at_least(conn: Any, setting: str, kilobytes: int) -> None:
    """Raise a memory setting (in kB) for the rest of the transaction; a server given more keeps it."""
    current = conn.exec_driver_sql(
        f"SELECT setting::bigint * CASE unit WHEN '8kB' THEN 8 WHEN 'MB' THEN 1024 ELSE 1 END "
        f"FROM pg_settings WHERE name = '{setting}'"
    ).scalar()
    if current is not None and current < kilobytes:
        conn.exec_driver_sql(f"SET LOCAL {setting} = '{kilobytes}kB'")


def partition_name(business_date: date) -> str:
    return f"{account_days.name}_{business_date:%Y%m%d}"


def _date_literal(business_date: date) -> str:
    return f"DATE '{business_date.isoformat()}'"


def partitioned(conn: Any) -> bool:
    return conn.dialect.name == "postgresql"


def clear_day(conn: Any, business_date: date) -> None:
    """The day's facts gone (a re-run replaces them), in the caller's transaction."""
    if partitioned(conn):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {partition_name(business_date)}")
    else:
        conn.execute(delete(account_days).where(account_days.c.business_date == business_date))


def load_day(conn: Any, business_date: date, days: pa.Table, bulk_insert: Callable[[Any, str, pa.Table], None]) -> str:
    """``days`` (the columns of ``account_days``, all of ``business_date``) loaded and indexed, not yet
    the day's facts (``swap_in_day`` makes them so); returns the table that holds them. On PostgreSQL
    a table of their own, which no reader sees: a re-run of the day keeps the day it replaces readable
    while the new one loads. SQLite replaces the day's rows at once."""
    if not partitioned(conn):
        clear_day(conn, business_date)
        bulk_insert(conn, account_days.name, days)
        return account_days.name
    loading = f"{partition_name(business_date)}_loading"
    day = _date_literal(business_date)
    conn.exec_driver_sql(f"CREATE TABLE {loading} (LIKE {account_days.name} INCLUDING DEFAULTS)")
    # The bound as a constraint of the new table: attaching it then needs no second read of the day's
    # rows to check them, and a row of another date is refused here, by name. Made while the table is
    # empty, it is checked row by row as the rows go in, not by a scan of the million after them.
    conn.exec_driver_sql(f"ALTER TABLE {loading} ADD CONSTRAINT {loading}_date CHECK (business_date = {day})")
    bulk_insert(conn, loading, days)
    # The parent's two indexes, built here, sorted, once: attaching then adopts them instead of building
    # them while the swap holds its lock. A million rows' sort fits in 128 MB; in PostgreSQL's default
    # 64 MB it spills to disk and both builds take a third longer.
    _at_least(conn, "maintenance_work_mem", INDEX_BUILD_KB)
    conn.exec_driver_sql(f"ALTER TABLE {loading} ADD CONSTRAINT {loading}_pkey PRIMARY KEY (business_date, account_id)")
    conn.exec_driver_sql(f"CREATE INDEX {loading}_account ON {loading} (account_id, business_date)")
    return loading


def swap_in_day(conn: Any, business_date: date, loaded: str) -> str:
    """The table ``load_day`` filled becomes the day's facts, in the caller's transaction: readers see the
    day's earlier facts, or none, until it commits. Dropping a re-run's earlier partition locks the day
    facts against readers until then, so this is the transaction's last step. Returns the day's table."""
    if not partitioned(conn):
        return loaded
    name = partition_name(business_date)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    conn.exec_driver_sql(f"ALTER TABLE {loaded} RENAME TO {name}")
    conn.exec_driver_sql(f"ALTER TABLE {name} RENAME CONSTRAINT {loaded}_date TO {name}_date")
    conn.exec_driver_sql(f"ALTER INDEX {loaded}_pkey RENAME TO {name}_pkey")
    conn.exec_driver_sql(f"ALTER INDEX {loaded}_account RENAME TO {name}_account")
    day = _date_literal(business_date)
    conn.exec_driver_sql(f"ALTER TABLE {account_days.name} ATTACH PARTITION {name} FOR VALUES IN ({day})")
    return name
