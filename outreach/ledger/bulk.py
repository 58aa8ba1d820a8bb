"""The fastest writes each database offers, for the large writes of a day: the book's facts, the plan's
steps and decisions, the ladder's positions, the dispatch's status changes.

PostgreSQL takes them through COPY, in its binary form where every column has one; SQLite through
executemany of plain tuples (of Arrow tables, whose dates and booleans it keeps as text and integers)
or through SQLAlchemy (of rows, so that its instants are kept in the form SQLAlchemy reads back).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pgpq
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    insert,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.selectable import TableValuedAlias

SQLITE_INSERT_BATCH = 50_000
# Rows turned into an Arrow table at a time for COPY: enough to amortise a round trip, little memory.
COPY_BATCH = 50_000
# Bytes the driver asks for at a time as it sends COPY's text (its default is 8 KB).
COPY_READ = 1 << 20
ROWS_PER_STATEMENT = 1000
# Rows bound at a time where each row is its own UPDATE: a day's million are never all parameters at once.
UPDATE_BATCH = 5000


def insert_table(conn: Any, table: str, rows: pa.Table) -> None:
    """``rows`` (an Arrow table, named columns) into ``table``."""
    if not rows.num_rows:
        return
    columns = ", ".join(rows.column_names)
    cursor = conn.connection.driver_connection.cursor()
    if conn.dialect.name == "postgresql":
        binary = _binary_form(conn, table, rows)
        if binary is not None:
            copy, stream = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT binary)", _binary_pieces(binary)
        else:
            copy, stream = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", _csv_pieces(rows)
        cursor.copy_expert(copy, _CopyStream(stream), COPY_READ)
        return
    placeholders = ", ".join("?" for _ in rows.column_names)
    # In slices, so that a million rows never sit in memory as Python objects all at once.
    for batch in rows.to_batches(max_chunksize=SQLITE_INSERT_BATCH):
        values = [_sqlite_plain(column).to_pylist() for column in batch.columns]
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", zip(*values, strict=True))


# Each column type of the ledger whose binary COPY form pgpq makes, and the Arrow type it makes it from.
_BINARY_FORMS = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "text": pa.string(),
    "character varying": pa.string(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamp without time zone": pa.timestamp("us"),
}


def _binary_form(conn: Any, table: str, rows: pa.Table) -> pa.Table | None:
    """``rows`` in the Arrow types whose binary form the columns of ``table`` read, or None when one of them
    has none (JSON), holds values of another kind (an instant as text), or a value that does not fit: COPY's
    CSV then takes them, the database reading each value's text and naming any it refuses."""
    found = dict(
        conn.exec_driver_sql(
            "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = %(table)s::regclass AND attnum > 0 AND NOT attisdropped",
            {"table": table},
        ).all()
    )
    wanted = []
    for field in rows.schema:
        target = _BINARY_FORMS.get(found.get(field.name, ""))
        if target is None or not _same_kind(field.type, target):
            return None
        wanted.append(pa.field(field.name, target))
    try:
        return rows.cast(pa.schema(wanted))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _same_kind(source: pa.DataType, target: pa.DataType) -> bool:
    if pa.types.is_null(source):
        return True
    if pa.types.is_timestamp(source):
        # An instant without a zone is read in the session's zone from text, and as UTC from binary.
        return pa.types.is_timestamp(target) and (source.tz is None) == (target.tz is None)
    kinds = (
        pa.types.is_integer,
        pa.types.is_floating,
        pa.types.is_boolean,
        pa.types.is_date,
        lambda kind: pa.types.is_string(kind) or pa.types.is_large_string(kind),
    )
    return any(kind(source) and kind(target) for kind in kinds)


def _binary_pieces(rows: pa.Table) -> Iterator[bytes]:
    encoder = pgpq.ArrowToPostgresBinaryEncoder(rows.schema)
    yield bytes(encoder.write_header())
    for batch in rows.to_batches(max_chunksize=COPY_BATCH):
        yield bytes(encoder.write_batch(batch))
    yield bytes(encoder.finish())


def _csv_pieces(rows: pa.Table) -> Iterator[bytes]:
    """Arrow's CSV quotes every string and leaves nulls unquoted and empty: exactly COPY's CSV NULL."""
    for batch in rows.to_batches(max_chunksize=COPY_BATCH):
        text = io.BytesIO()
        pacsv.write_csv(batch, text, write_options=_COPY_CSV)
        yield text.getvalue()


class _CopyStream(io.RawIOBase):
    """COPY's input made a batch at a time as the driver reads it: a million rows never sit in memory as
    one text (100-150 MB beside the table itself), and the database parses a batch while the next is made."""

    def __init__(self, pieces: Iterator[bytes]):
        self._pieces = pieces
        self._text = memoryview(b"")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # An empty piece is not the end (the binary encoder holds rows back until it has a buffer's worth).
        while not len(self._text):
            piece = next(self._pieces, None)
            if piece is None:
                return b""
            self._text = memoryview(piece)
        if size < 0:
            size = len(self._text)
        chunk, self._text = self._text[:size], self._text[size:]
        return bytes(chunk)


_COPY_CSV = pacsv.WriteOptions(include_header=False, quoting_style="needed")


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


def update_rows(
    conn: Any,
    table: Table,
    key: str | tuple[str, ...],
    rows: Sequence[dict[str, Any]],
    values: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> None:
    """Each of ``rows`` (dicts with the same keys: ``key`` and other columns of ``table``) written to the
    row of ``table`` with its ``key`` (a column, or several), as ``values(new)`` says: ``new[name]`` is the
    row's value of ``name``.

    PostgreSQL takes them by COPY into a temporary table and one UPDATE ... FROM it, in the caller's
    transaction: a statement per row is parsed, planned and sent 300,000 times on a large day. (One
    UPDATE ... FROM the rows' arrays, ``unnested``, measured a third slower on a day's dispatch.) SQLite,
    in the process, takes a statement per row at no round trip's cost.
    """
    if not rows:
        return
    names = list(rows[0])
    # A key given twice is updated twice, in order, the second reading what the first wrote; a join
    # would apply only one of them, and PostgreSQL does not say which.
    keys = (key,) if isinstance(key, str) else key
    if conn.dialect.name == "postgresql" and len({tuple(row[k] for k in keys) for row in rows}) == len(rows):
        new = Table(
            f"{table.name}_updates",
            MetaData(),
            *(Column(name, table.c[name].type) for name in names),
            prefixes=["TEMPORARY"],
        )
        new.create(conn)
        insert_rows(conn, new, rows)
        conn.execute(update(table).where(and_(*(table.c[k] == new.c[k] for k in keys))).values(values(new.c)))
        # Dropped now, not at commit: another call in the same transaction makes its own.
        new.drop(conn)
        return
    # Not the columns' own names: SQLAlchemy keeps those for the values its SET clause binds.
    new_values = {name: bindparam(f"new_{name}") for name in names}
    statement = update(table).where(and_(*(table.c[k] == new_values[k] for k in keys))).values(values(new_values))
    for start in range(0, len(rows), UPDATE_BATCH):
        conn.execute(statement, [{f"new_{n}": v for n, v in row.items()} for row in rows[start : start + UPDATE_BATCH]])


def unnested(table: Table, rows: Sequence[Mapping[str, Any]], name: str = "new") -> TableValuedAlias:
    """``rows`` (dicts with the same keys, columns of ``table``) as a relation named ``name`` that PostgreSQL
    reads from one array per column, typed as ``table`` types them: a batch of a dispatch (hundreds of
    rows) in one statement and one round trip, where the statement can do more than insert them."""
    names = list(rows[0])
    arrays = [
        cast(bindparam(f"{name}_{n}", [row[n] for row in rows], type_=ARRAY(table.c[n].type)), ARRAY(table.c[n].type))
        for n in names
    ]
    return func.unnest(*arrays).table_valued(*(column(n, table.c[n].type) for n in names)).render_derived(name=name)


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


# A write of fewer rows than this share of what the planner believes a table holds leaves its
# estimates close enough: the table is not analysed again (PostgreSQL's own autovacuum waits for 10%).
STALE_SHARE = 0.1


def refresh_statistics(conn: Any, *tables: str, written: int | None = None) -> None:
    """After a bulk write on PostgreSQL, tell its planner how large the tables now are.

    Autovacuum catches up on its own schedule, but the day's next step runs at once: planned on
    the counts from before a million-row load, a lookup of a thousand accounts joins the whole day
    (0.45 s instead of 3 ms at 300,000 accounts), and the dispatch's lookups grow with the book.
    With ``written`` (the rows just written), a table whose estimate that many rows hardly change is
    left as it is: a round of a plan on a ledger that holds many days already costs no ANALYZE.
    """
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        if written is not None:
            believed = conn.exec_driver_sql(f"SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass").scalar()
            if believed is not None and believed > 0 and written < STALE_SHARE * believed:
                continue
        conn.exec_driver_sql(f"ANALYZE {table}")
