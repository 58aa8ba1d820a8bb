"""The fastest writes each database offers, for the large writes of a day: the book's facts, the plan's
steps and decisions, the ladder's positions.

PostgreSQL takes them through COPY; SQLite through executemany of plain tuples (of Arrow tables,
whose dates and booleans it keeps as text and integers) or through SQLAlchemy (of rows, so that its
instants are kept in the form SQLAlchemy reads back).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, String, Table, Text, insert

SQLITE_INSERT_BATCH = 50_000
# Rows turned into an Arrow table at a time for COPY: enough to amortise a round trip, little memory.
COPY_BATCH = 50_000
ROWS_PER_STATEMENT = 1000


def insert_table(conn: Any, table: str, rows: pa.Table) -> None:
    """``rows`` (an Arrow table, named columns) into ``table``."""
    if not rows.num_rows:
        return
    columns = ", ".join(rows.column_names)
    cursor = conn.connection.driver_connection.cursor()
    if conn.dialect.name == "postgresql":
        # Arrow's CSV quotes every string and leaves nulls unquoted and empty: exactly COPY's CSV NULL.
        buffer = io.BytesIO()
        pacsv.write_csv(rows, buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        buffer.seek(0)
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
        return
    placeholders = ", ".join("?" for _ in rows.column_names)
    # In slices, so that a million rows never sit in memory as Python objects all at once.
    for batch in rows.to_batches(max_chunksize=SQLITE_INSERT_BATCH):
        values = [_sqlite_plain(column).to_pylist() for column in batch.columns]
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", zip(*values, strict=True))


def insert_rows(conn: Any, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` (dicts with the same keys, columns of ``table``) into ``table``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        schema = pa.schema([(name, _arrow_type(table, name)) for name in rows[0]])
        try:
            batches = [
                pa.Table.from_pylist(list(rows[start : start + COPY_BATCH]), schema=schema)
                for start in range(0, len(rows), COPY_BATCH)
            ]
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            batches = None  # a value Arrow cannot type (an instant given as text): the database reads it
        if batches is not None:
            for batch in batches:
                insert_table(conn, table.name, batch)
            return
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        conn.execute(insert(table), list(rows[start : start + ROWS_PER_STATEMENT]))


def _arrow_type(table: Table, name: str) -> pa.DataType:
    kind = table.c[name].type
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer | BigInteger):
        return pa.int64()
    if isinstance(kind, DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, String | Text):
        return pa.string()
    raise TypeError(f"{table.name}.{name}: no bulk form for {kind!r}")


def _sqlite_plain(column: pa.Array) -> pa.Array:
    """Dates as ISO text and booleans as 0/1, as SQLite keeps them: far cheaper to bind than date and bool objects."""
    if pa.types.is_date(column.type):
        return column.cast(pa.string())
    if pa.types.is_boolean(column.type):
        return column.cast(pa.int8())
    return column


def refresh_statistics(conn: Any, *tables: str) -> None:
    """After a bulk write on PostgreSQL, tell its planner how large the tables now are.

    Autovacuum catches up on its own schedule, but the day's next step runs at once: planned on
    the counts from before a million-row load, a lookup of a thousand accounts joins the whole day
    (0.45 s instead of 3 ms at 300,000 accounts), and the dispatch's lookups grow with the book.
    """
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.exec_driver_sql(f"ANALYZE {table}")
