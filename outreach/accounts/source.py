"""Sources of the day's overdue accounts: CSV and Parquet files.

A file that cannot be read at all fails loudly with its path; a row that cannot
be used is quarantined with its line number and reason, and the rest flow on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from outreach.accounts.schema import REQUIRED_COLUMNS
from outreach.accounts.validate import PullResult, QuarantinedRow, RowError, validate_row


class SourceError(RuntimeError):
    """The source as a whole cannot be read; the message names it and the problem."""


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, problem) for every record of a CSV file."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise SourceError(f"accounts file {path} does not exist") from exc
    except OSError as exc:
        raise SourceError(f"accounts file {path} cannot be opened: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration as exc:
            raise SourceError(f"accounts file {path} is empty (no header line)") from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SourceError(f"accounts file {path}, line 1: unreadable header ({exc})") from exc
        header = [name.strip() for name in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise SourceError(f"accounts file {path}, line 1: missing required column(s) {missing}")
        start = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as exc:
                yield start, None, f"unreadable record ({exc})"
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not fields:
                continue
            if len(fields) != len(header):
                yield line, {"_fields": fields}, f"expected {len(header)} fields, found {len(fields)}"
                continue
            yield line, dict(zip(header, fields, strict=True)), None


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    import pyarrow.parquet as pq

    if not path.exists():
        raise SourceError(f"accounts file {path} does not exist")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated classes for a bad file
        raise SourceError(f"accounts file {path} is not readable Parquet: {exc}") from exc
    missing = [name for name in REQUIRED_COLUMNS if name not in table.column_names]
    if missing:
        raise SourceError(f"accounts file {path}: missing required column(s) {missing}")
    # Parquet has no lines; the 1-based row number plays that part.
    for number, row in enumerate(table.to_pylist(), start=1):
        yield number, {k: ("" if v is None else str(v)) for k, v in row.items()}, None


def read_accounts(path: Path | str) -> PullResult:
    """Read and validate an accounts file (``.csv`` or ``.parquet``)."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        rows = _parquet_rows(path)
    elif path.suffix.lower() in {".csv", ".txt"}:
        rows = _csv_rows(path)
    else:
        raise SourceError(f"accounts file {path}: unsupported format {path.suffix!r} (use .csv or .parquet)")

    result = PullResult(source=str(path))
    first_seen: dict[str, int] = {}
    for line, raw, problem in rows:
        if problem is not None:
            result.quarantined.append(QuarantinedRow(str(path), line, "record", problem, raw or {}))
            continue
        assert raw is not None
        try:
            account = validate_row(raw)
        except RowError as exc:
            result.quarantined.append(QuarantinedRow(str(path), line, exc.field, exc.reason, raw))
            continue
        account_id = account["account_id"]
        if account_id in first_seen:
            result.quarantined.append(
                QuarantinedRow(
                    str(path),
                    line,
                    "account_id",
                    f"duplicate account_id, first seen on line {first_seen[account_id]}",
                    raw,
                )
            )
            continue
        first_seen[account_id] = line
        account["source_line"] = line
        result.accounts.append(account)
    return result
