"""Where the day's overdue book comes from: a file drop (CSV or Parquet, local or any
fsspec URL) or a SQL query/table, with the bank's own column names mapped onto ours.

A source that cannot be read fails loudly, naming it, so the task fails and is
retried; nothing is written until the whole source has been read. A row that
cannot be used is quarantined with its line number; the rest flow on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from outreach.accounts.phones import PhoneNormaliser
from outreach.accounts.schema import ACCOUNT_COLUMNS, REQUIRED_COLUMNS
from outreach.accounts.validate import PullResult, QuarantinedRow, validate_table


class SourceError(RuntimeError):
    """The source as a whole cannot be read; the message names it and the problem."""


class SourceSpec(BaseModel):
    """How to read one bank's book. Stored as YAML; see docs/sources.md."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["csv", "parquet", "sql"]
    path: str | None = Field(None, description="file path or fsspec URL; {business_date} is filled in")
    query: str | None = Field(None, description="SQL with an optional :business_date parameter")
    table: str | None = None
    url: str | None = Field(None, description="SQLAlchemy URL of the source database")
    conn_id: str | None = Field(None, description="an Airflow connection id, resolved by the DAG")
    default_region: str | None = Field(None, description="country assumed for rows and phone numbers without one")
    columns: dict[str, str] = Field(default_factory=dict, description="source column -> schema column")

    @model_validator(mode="after")
    def _complete(self) -> SourceSpec:
        if self.kind in ("csv", "parquet") and not self.path:
            raise ValueError(f"a {self.kind} source needs a path")
        if self.kind == "sql":
            if not (self.query or self.table):
                raise ValueError("a sql source needs a query or a table")
            if not (self.url or self.conn_id):
                raise ValueError("a sql source needs a url or a conn_id")
        unknown = sorted(set(self.columns.values()) - set(ACCOUNT_COLUMNS) - {"dpd"})
        if unknown:
            raise ValueError(f"columns map onto unknown schema field(s) {unknown}")
        return self

    def describe(self, business_date: date) -> str:
        if self.kind == "sql":
            return f"sql:{self.table or 'query'}@{self.conn_id or _safe_url(self.url)}"
        return self.resolved_path(business_date)

    def resolved_path(self, business_date: date) -> str:
        return (self.path or "").replace("{business_date}", business_date.isoformat())


def _safe_url(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True) if url else ""


def load_spec(path: Path) -> SourceSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"source spec {path} cannot be read: {exc.strerror}") from exc
    try:
        return SourceSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors())
        raise SourceError(f"source spec {path}: {problems}") from exc


def file_spec(path: Path | str) -> SourceSpec:
    """The spec for a plain accounts file already in the schema's column names."""
    text = str(path)
    return SourceSpec(kind="parquet" if text.lower().endswith(".parquet") else "csv", path=text)


def _open(location: str):
    import fsspec

    try:
        return fsspec.open(location, "rb").open()
    except FileNotFoundError as exc:
        raise SourceError(f"accounts file {location} does not exist") from exc
    except (OSError, ValueError, ImportError) as exc:
        raise SourceError(f"accounts file {location} cannot be opened: {exc}") from exc


def _as_strings(table: pa.Table, location: str) -> pa.Table:
    """Every column as text (dates ISO, decimals exact), so one validator serves every source."""
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not pa.types.is_string(column.type):
            try:
                column = column.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SourceError(
                    f"accounts source {location}: column {name!r} is of type {column.type}, "
                    "which cannot be read as account data (text, numbers, dates or booleans)"
                ) from exc
        columns[name] = pc.fill_null(column, "")
    return pa.table(columns)


def _utf8(data: bytes) -> bytes:
    """The file as UTF-8: bytes in another encoding become U+FFFD, and their rows are quarantined.

    One line exported in Latin-1 must cost that line, not the whole file.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace").encode("utf-8")
    return data


Read = tuple[pa.Table, np.ndarray, list[QuarantinedRow]]


def _read_csv(location: str) -> Read:
    handle = _open(location)
    with handle:
        data = handle.read()
    if not data.strip():
        return _empty(), np.array([], dtype="int64"), []
    data = _utf8(data)
    invalid: list[tuple[int, str, int]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    try:
        header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig").strip()]))
        column_types = {name: pa.string() for name in header}
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=False, encoding="utf-8"),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise SourceError(f"accounts file {location} is not readable CSV: {exc}") from exc
    table = _as_strings(table, location).rename_columns([c.lstrip("\ufeff").strip() for c in table.column_names])
    width = table.num_columns

    # Physical line of each record: records before it, plus the newlines inside their quoted fields.
    # Arrow cannot always number a bad record (an unclosed quote runs to the end): it is the last.
    last = table.num_rows + len(invalid) + 1
    invalid = [(last if number is None else number, text, actual) for number, text, actual in invalid]
    invalid_numbers = {number for number, _, _ in invalid}
    total = table.num_rows + len(invalid)
    record_numbers = [n for n in range(2, total + 2) if n not in invalid_numbers]
    embedded = np.zeros(table.num_rows, dtype="int64")
    for column in table.columns:
        embedded += pc.count_substring(column, "\n").to_numpy().astype("int64")
    newlines_after = dict(zip(record_numbers, embedded.tolist(), strict=True))
    for number, text, _ in invalid:
        newlines_after[number] = text.count("\n")
    line_of: dict[int, int] = {}
    line = 2
    for number in range(2, total + 2):
        line_of[number] = line
        line += 1 + newlines_after.get(number, 0)
    lines = np.array([line_of[n] for n in record_numbers], dtype="int64")
    bad = [
        QuarantinedRow(
            location, line_of[number], "record", f"expected {width} fields, found {actual}", {"_text": text[:200]}
        )
        for number, text, actual in invalid
    ]
    spans = [(int(start), int(extra)) for start, extra in zip(lines, embedded.tolist(), strict=True) if extra]
    spans += [(line_of[number], text.count("\n")) for number, text, _ in invalid if "\n" in text]
    if spans:
        table, lines, bad = _rescue_swallowed_lines(data, spans, table, lines, bad, location)
    return table, lines, bad


def _rescue_swallowed_lines(
    data: bytes,
    spans: list[tuple[int, int]],
    table: pa.Table,
    lines: np.ndarray,
    bad: list[QuarantinedRow],
    location: str,
) -> Read:
    """Undo what one stray quote does: swallow every line up to the next quote into one field.

    A record spanning several lines is a quote opened and never closed on its first line when each
    line after it is a whole record by itself (a real multi-line value, such as a two-line address,
    leaves its continuation lines incomplete). Then the first line is quarantined and the lines
    after it are read as the records they are, with their own line numbers.
    """
    physical = data.decode("utf-8-sig").split("\n")
    width = table.num_columns

    def fields(line: str) -> list[str]:
        return next(csv.reader([line.rstrip("\r")]), [])

    swallowed_starts: set[int] = set()
    rescued: list[tuple[int, list[str]]] = []
    for start, extra in spans:
        following = physical[start : start + extra]  # lines start+1 .. start+extra (1-based)
        parsed = [fields(text) for text in following]
        if not parsed or any(len(values) != width for values in parsed if values):
            continue
        swallowed_starts.add(start)
        rescued += [(start + 1 + offset, values) for offset, values in enumerate(parsed) if values]
    if not swallowed_starts:
        return table, lines, bad
    bad = [row for row in bad if row.line not in swallowed_starts]
    bad += [
        QuarantinedRow(
            location,
            start,
            "record",
            "a quote opened in this line is never closed; the lines after it are read on their own",
            {"_text": physical[start - 1][:200]},
        )
        for start in sorted(swallowed_starts)
    ]
    keep = ~np.isin(lines, list(swallowed_starts))
    table, lines = table.filter(pa.array(keep)), lines[keep]
    extra_rows = pa.table(
        {name: pa.array([values[i] for _, values in rescued], pa.string()) for i, name in enumerate(table.column_names)}
    )
    table = pa.concat_tables([table, extra_rows])
    lines = np.concatenate([lines, np.array([line for line, _ in rescued], dtype="int64")])
    order = np.argsort(lines, kind="stable")
    return table.take(pa.array(order)), lines[order], sorted(bad, key=lambda row: row.line)


def _row_numbers(rows: int) -> np.ndarray:
    # Parquet and SQL have no lines; the 1-based row number plays that part.
    return np.arange(1, rows + 1, dtype="int64")


def _read_parquet(location: str) -> Read:
    handle = _open(location)
    try:
        with handle:
            table = pq.read_table(handle)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"accounts file {location} is not readable Parquet: {exc}") from exc
    return _as_strings(table, location), _row_numbers(table.num_rows), []


def _read_sql(spec: SourceSpec, business_date: date, resolve_connection: Callable[[str], str] | None) -> Read:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    url = spec.url
    if url is None:
        if resolve_connection is None:
            raise SourceError(f"source connection {spec.conn_id!r} needs Airflow to resolve it")
        url = resolve_connection(spec.conn_id or "")
    query = spec.query or f"SELECT * FROM {spec.table}"
    params = {"business_date": business_date} if ":business_date" in query else {}
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            frame = pd.read_sql(text(query), conn, params=params, dtype_backend="pyarrow")
    except SQLAlchemyError as exc:
        raise SourceError(
            f"source {spec.describe(business_date)} cannot be read: {exc.__class__.__name__}: "
            f"{str(exc.orig if hasattr(exc, 'orig') else exc).strip()[:300]}"
        ) from exc
    finally:
        engine.dispose()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return _as_strings(table, spec.describe(business_date)), _row_numbers(table.num_rows), []


def _empty() -> pa.Table:
    return pa.table({name: pa.array([], pa.string()) for name in REQUIRED_COLUMNS})


def _apply_mapping(table: pa.Table, spec: SourceSpec, business_date: date, where: str) -> pa.Table:
    if spec.columns:
        missing = [source for source in spec.columns if source not in table.column_names]
        table = table.rename_columns([spec.columns.get(name, name) for name in table.column_names])
    else:
        missing = []
    names = set(table.column_names)
    required = [c for c in REQUIRED_COLUMNS if c != "oldest_unpaid_due_date" or "dpd" not in names]
    absent = [c for c in required if c not in names]
    if absent or missing:
        reverse = {target: source for source, target in spec.columns.items()}
        named = [f"{reverse[c]!r} (mapped to {c})" if c in reverse else repr(c) for c in absent]
        named += [
            f"{source!r} (mapped to {spec.columns[source]})"
            for source in missing
            if spec.columns[source] not in required
        ]
        raise SourceError(f"{where}: missing required column(s) {', '.join(named)}")
    if "oldest_unpaid_due_date" not in names and "dpd" in names:
        table = table.append_column("oldest_unpaid_due_date", _due_dates_from_dpd(table.column("dpd"), business_date))
    return table


def _due_dates_from_dpd(dpd: pa.ChunkedArray, business_date: date) -> pa.Array:
    """The oldest unpaid due date a DPD implies; a DPD that is not a number stays visible, to be quarantined."""
    days = pd.to_numeric(pd.Series(dpd.to_pandas()), errors="coerce")
    due = (pd.Timestamp(business_date) - pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d")
    text = due.where(days.notna(), "dpd=" + pd.Series(dpd.to_pandas()).astype(str))
    return pa.array(text, pa.string())


def read_source(
    spec: SourceSpec,
    business_date: date,
    resolve_connection: Callable[[str], str] | None = None,
    phones: PhoneNormaliser | None = None,
    checked_before: Callable[[], pa.Table] | None = None,
) -> PullResult:
    """Read, map and validate the whole source for one business date.

    ``checked_before`` gives, once the source is read, the source hash each account's contact details
    were last checked under (``validate_table``): rows still given so are not checked again."""
    where = spec.describe(business_date)
    if spec.kind == "csv":
        table, lines, bad = _read_csv(where)
        where_lines = f"accounts file {where}, line 1"
    elif spec.kind == "parquet":
        table, lines, bad = _read_parquet(where)
        where_lines = f"accounts file {where}"
    else:
        table, lines, bad = _read_sql(spec, business_date, resolve_connection)
        where_lines = f"source {where}"
    if not table.num_columns:
        table = _empty()
    table = _apply_mapping(table, spec, business_date, where_lines)
    result = validate_table(
        table,
        lines,
        where,
        phones=phones,
        default_region=spec.default_region,
        checked_before=checked_before() if checked_before is not None else None,
    )
    result.quarantined = sorted(bad + result.quarantined, key=lambda row: row.line)
    return result


def read_accounts(path: Path | str, business_date: date | None = None) -> PullResult:
    """Read and validate a plain accounts file (``.csv`` or ``.parquet``) in the schema's columns."""
    text = str(path)
    if not text.lower().endswith((".csv", ".txt", ".parquet")):
        raise SourceError(f"accounts file {text}: unsupported format (use .csv or .parquet)")
    return read_source(file_spec(path), business_date or date.today())
