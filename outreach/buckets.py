"""Delinquency buckets: days past due (DPD) to a named band, vectorised.

Default bands follow industry usage: M1 = 1-30 DPD, M2 = 31-60, ... M6 = 151-180,
M7+ beyond; ``OUTREACH_BUCKETS`` replaces them (``M1=1-30,M2=31-60,M3+=61-``). A
name ending in ``+`` groups a bucket with every later one (``M2+``). Accounts at
zero or negative DPD are ``current`` and leave outreach.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads on first use: campaign files are validated where it is not wanted
    import numpy as np
    import pandas as pd
    import pyarrow as pa

CURRENT = "current"


@dataclass(frozen=True)
class Bucket:
    name: str
    min_dpd: int
    max_dpd: int | None  # None: open-ended


DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket("M1", 1, 30),
    Bucket("M2", 31, 60),
    Bucket("M3", 61, 90),
    Bucket("M4", 91, 120),
    Bucket("M5", 121, 150),
    Bucket("M6", 151, 180),
    Bucket("M7+", 181, None),
)


class BucketTableError(ValueError):
    """The bucket table has gaps, overlaps or bad bounds."""


def validate_buckets(buckets: Sequence[Bucket]) -> None:
    if not buckets:
        raise BucketTableError("the bucket table is empty")
    if buckets[0].min_dpd != 1:
        raise BucketTableError(f"bucket {buckets[0].name} must start at DPD 1")
    for previous, following in zip(buckets, buckets[1:], strict=False):
        if previous.max_dpd is None:
            raise BucketTableError(f"bucket {previous.name} is open-ended but is not the last one")
        if following.min_dpd != previous.max_dpd + 1:
            raise BucketTableError(
                f"buckets {previous.name} and {following.name} leave a gap or overlap "
                f"({previous.max_dpd} then {following.min_dpd})"
            )
    for bucket in buckets:
        if bucket.max_dpd is not None and bucket.max_dpd < bucket.min_dpd:
            raise BucketTableError(f"bucket {bucket.name} ends before it starts")


def _bucket_positions(dpd: np.ndarray, buckets: Sequence[Bucket]) -> np.ndarray:
    """Index into ``buckets`` for every DPD, ``len(buckets)`` meaning current (DPD <= 0)."""
    import numpy as np

    validate_buckets(buckets)
    # Upper edges, with the open-ended last bucket reaching to infinity.
    edges = np.array([b.max_dpd if b.max_dpd is not None else np.iinfo("int64").max for b in buckets])
    return np.where(dpd <= 0, len(buckets), np.searchsorted(edges, dpd, side="left"))


def _bucket_names(buckets: Sequence[Bucket]) -> list[str]:
    return [b.name for b in buckets] + [CURRENT]


def assign_buckets(dpd: pd.Series, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> pd.Series:
    """Bucket name for every DPD value; ``current`` for DPD <= 0."""
    import numpy as np
    import pandas as pd

    names = np.array(_bucket_names(buckets), dtype=object)
    return pd.Series(names[_bucket_positions(dpd.to_numpy(dtype="int64"), buckets)], index=dpd.index, dtype="object")


def bucket_for(dpd: int, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> str:
    import pandas as pd

    return str(assign_buckets(pd.Series([dpd]), buckets).iloc[0])


def parse_buckets(text: str) -> tuple[Bucket, ...]:
    """A bucket table from ``M1=1-30,M2=31-60,M3+=61-`` (an open upper end for the last)."""
    buckets = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, span = item.partition("=")
        low, dash, high = span.partition("-")
        if not sep or not dash or not low.strip().isdigit() or (high.strip() and not high.strip().isdigit()):
            raise BucketTableError(f"bucket {item!r} is not NAME=FROM-TO (TO may be empty for the last)")
        buckets.append(Bucket(name.strip(), int(low), int(high) if high.strip() else None))
    validate_buckets(buckets)
    return tuple(buckets)


def configured_buckets() -> tuple[Bucket, ...]:
    """The bucket table in force: ``OUTREACH_BUCKETS`` if set, else the industry default."""
    text = os.environ.get("OUTREACH_BUCKETS")
    return parse_buckets(text) if text else DEFAULT_BUCKETS


def bucket_named(name: str, buckets: Sequence[Bucket] | None = None) -> Bucket:
    for bucket in buckets or configured_buckets():
        if bucket.name == name:
            return bucket
    raise KeyError(f"unknown bucket {name!r}")


def expand_group(names: Sequence[str], buckets: Sequence[Bucket] | None = None) -> tuple[str, ...]:
    """Bucket names with groups expanded: ``M2+`` is M2 and every bucket after it."""
    table = list(buckets or configured_buckets())
    order = [b.name for b in table]
    expanded: list[str] = []
    for name in names:
        if name in order:
            expanded.append(name)
        elif name.endswith("+") and name[:-1] in order:
            expanded.extend(order[order.index(name[:-1]) :])
        else:
            raise KeyError(f"unknown bucket or group {name!r} (buckets: {', '.join(order)})")
    return tuple(expanded)


def checked_group(names: Sequence[str]) -> Sequence[str]:
    """``names`` unchanged when every bucket or group in it exists; a ValueError naming the first that does not."""
    try:
        expand_group(names)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from exc
    return names


def segment_table(
    accounts: pa.Table,
    business_date: date,
    previous_buckets: pa.Table,
    buckets: Sequence[Bucket] | None = None,
) -> pa.Table:
    """``accounts`` with DPD from the oldest unpaid due date, the bucket, and the roll since the previous day."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    buckets = buckets or configured_buckets()
    due = accounts.column("oldest_unpaid_due_date").cast(pa.date32())
    dpd = pc.days_between(due, pa.scalar(business_date, pa.date32())).to_numpy()
    names = _bucket_names(buckets)
    position = _bucket_positions(dpd, buckets)
    # Rank 0 is current, then each bucket in order: a higher rank is a worse bucket.
    rank_now = np.where(position == len(buckets), 0, position + 1)

    # ``previous_buckets`` has one row per account (account_id, bucket), as the ledger keeps the day.
    seen = pc.index_in(accounts.column("account_id"), previous_buckets.column("account_id"))
    before = pc.take(previous_buckets.column("bucket"), seen)
    position_before = pc.fill_null(pc.index_in(before, pa.array(names, pa.string())), -1).to_numpy()
    rank_before = np.where(position_before == len(buckets), 0, np.where(position_before < 0, -1, position_before + 1))
    rolled = np.select(
        [rank_before < 0, rank_now > rank_before, rank_now < rank_before], ["new", "forward", "back"], default="same"
    )
    return (
        accounts.append_column("dpd", pa.array(dpd, pa.int64()))
        .append_column("bucket", pc.take(pa.array(names, pa.string()), pa.array(position)))
        .append_column("previous_bucket", before)
        .append_column("roll", pa.array(rolled, pa.string()))
    )
