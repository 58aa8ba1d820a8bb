"""A row the source sends exactly as on the last business day is not validated again.

A book changes by a few percent a day: a payment, a new number, a new email. The pull keeps the
raw text of the rows it accepted beside their validated form (in the run's folder); the next
day's pull compares each row's text with the last day's, column by column, and validates only
the rows that differ, are new, or were not accepted. The others take their validated form from the
last day, with today's line. The result is the one a validation of every row gives (a property
test checks it): every check of a row reads only that row, and an account id that appears twice
today has all its rows validated together, so the first one still wins.

The validated form is reused only where it was made the same way: the same columns, the same
default region and the same validation code and phone metadata (``fingerprint``). Anything else,
or a last day whose files are gone or unreadable, means every row is validated, as on a first day.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather

from outreach.accounts.columns import row_flags
from outreach.accounts.phones import PhoneNormaliser
from outreach.accounts.staging import read_staged
from outreach.accounts.validate import PullResult, validate_table

log = logging.getLogger(__name__)

KNOWN_NAME = "accepted_raw.arrow"
# The position in the run's accepted accounts of each raw row, -1 where it was quarantined.
ACCEPTED_AT = "__accepted_at"
FINGERPRINT_KEY = b"validated_by"
VALIDATION_MODULES = ("validate.py", "phones.py", "schema.py", "columns.py")


def fingerprint(default_region: str | None) -> str:
    """What a row's validated form depends on besides its own text."""
    digest = hashlib.sha256()
    package = resources.files("outreach.accounts")
    for name in VALIDATION_MODULES:
        digest.update((package / name).read_bytes())
    digest.update(f"{phonenumbers.__version__}|{default_region or ''}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class KnownRows:
    """The last business day's accepted rows: their raw text and, row for row, their validated form."""

    raw: pa.Table
    accepted: pa.Table


def write_known(path: Path, raw: pa.Table, result: PullResult, default_region: str | None) -> None:
    """Keep the raw rows of a pull beside where each one's validated form is in ``result.table``."""
    accepted_at = np.full(raw.num_rows, -1, dtype=np.int64)
    accepted_at[result.accepted_rows] = np.arange(len(result.accepted_rows))
    table = raw.append_column(ACCEPTED_AT, pa.array(accepted_at))
    table = table.replace_schema_metadata({FINGERPRINT_KEY: fingerprint(default_region).encode()})
    feather.write_feather(table, path, compression="lz4")


def read_known(path: Path, accepted: Path, default_region: str | None) -> KnownRows | None:
    """The last day's rows, if its files are there and were validated the way today's would be."""
    try:
        raw = feather.read_table(path, memory_map=False)
        if (raw.schema.metadata or {}).get(FINGERPRINT_KEY) != fingerprint(default_region).encode():
            log.info("the last day's rows were validated differently: every row is validated today")
            return None
        validated = read_staged(accepted)
    except (OSError, pa.ArrowInvalid) as exc:
        log.warning("the last day's rows cannot be read (%s): every row is validated today", exc)
        return None
    at = raw.column(ACCEPTED_AT).to_numpy()
    raw = raw.drop_columns([ACCEPTED_AT])
    if len(at) == validated.num_rows and np.array_equal(at, np.arange(len(at))):
        return KnownRows(raw=raw, accepted=validated)  # every row accepted, the usual day: no copies
    kept = np.flatnonzero(at >= 0)
    return KnownRows(raw=raw.take(kept), accepted=validated.take(at[kept]))


def _unchanged(raw: pa.Table, known: KnownRows) -> tuple[np.ndarray, np.ndarray]:
    """Today's rows whose text is a known row's, and for each the known row's position."""
    today = pa.table({"account_id": raw.column("account_id"), "today": np.arange(raw.num_rows)})
    before = pa.table({"account_id": known.raw.column("account_id"), "before": np.arange(known.raw.num_rows)})
    matched = today.join(before, "account_id", join_type="inner")
    rows = matched.column("today").to_numpy()
    earlier = matched.column("before").to_numpy()
    order = np.argsort(rows, kind="stable")
    rows, earlier = rows[order], earlier[order]
    # The usual export lists the same accounts in the same order: its columns are compared as they are.
    aligned = len(rows) == raw.num_rows == known.raw.num_rows and np.array_equal(earlier, rows)
    same = np.ones(len(rows), dtype=bool)
    for name in raw.column_names:
        now, then = raw.column(name), known.raw.column(name)
        if not aligned:
            now, then = now.take(rows), then.take(earlier)
        same &= row_flags(pc.fill_null(pc.equal(now, then), pc.and_(pc.is_null(now), pc.is_null(then))))
    return rows[same], earlier[same]


def validate_changed(
    raw: pa.Table,
    lines: np.ndarray,
    source: str,
    known: KnownRows | None,
    phones: PhoneNormaliser | None = None,
    default_region: str | None = None,
) -> PullResult:
    """``validate_table`` of ``raw``, validating only the rows that are not a known row's text."""
    lines = np.asarray(lines, dtype="int64")
    if known is None or known.raw.column_names != raw.column_names or not raw.num_rows:
        return validate_table(raw, lines, source, phones, default_region)
    rows, earlier = _unchanged(raw, known)
    # An id sent twice today is validated in full, every row of it: the first good one wins.
    counts = pc.value_counts(raw.column("account_id"))
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated):
        single = ~pc.is_in(raw.column("account_id").take(rows), repeated).to_numpy(zero_copy_only=False)
        rows, earlier = rows[single], earlier[single]
    changed = np.setdiff1d(np.arange(raw.num_rows), rows, assume_unique=True)
    checked = validate_table(raw.take(changed), lines[changed], source, phones, default_region)
    reused = known.accepted.take(earlier)
    reused = reused.set_column(
        reused.column_names.index("source_line"), "source_line", pa.array(lines[rows], pa.int64())
    )
    if reused.schema != checked.table.schema:
        log.info("the last day's validated rows are of another shape: every row is validated today")
        return validate_table(raw, lines, source, phones, default_region)
    merged = pa.concat_tables([reused, checked.table])
    positions = np.concatenate([rows, changed[checked.accepted_rows]])
    order = np.argsort(positions, kind="stable")
    log.info("validated %d of %d rows; %d are as the last day sent them", len(changed), raw.num_rows, len(rows))
    return PullResult(
        source=source,
        table=merged.take(order),
        quarantined=checked.quarantined,
        accepted_rows=positions[order],
    )
