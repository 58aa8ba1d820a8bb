"""Delinquency buckets: days past due (DPD) to a named band, vectorised.

Default bands follow industry usage: M1 = 1-30 DPD, M2 = 31-60, ... M6 = 151-180,
M7+ beyond. Accounts at zero or negative DPD are ``current`` and leave outreach.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

CURRENT = "current"


@dataclass(frozen=True)
class Bucket:
    name: str
    min_dpd: int
    max_dpd: int | None  # None: open-ended

    def contains(self, dpd: int) -> bool:
        return dpd >= self.min_dpd and (self.max_dpd is None or dpd <= self.max_dpd)


DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket("M1", 1, 30),
    Bucket("M2", 31, 60),
    Bucket("M3", 61, 90),
    Bucket("M4", 91, 120),
    Bucket("M5", 121, 150),
    Bucket("M6", 151, 180),
    Bucket("M7+", 181, None),
)

# Strategies treat everything past the first month as one harder segment.
DEFAULT_GROUPS: dict[str, tuple[str, ...]] = {
    "M2+": ("M2", "M3", "M4", "M5", "M6", "M7+"),
}


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


def assign_buckets(dpd: pd.Series, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> pd.Series:
    """Bucket name for every DPD value; ``current`` for DPD <= 0."""
    validate_buckets(buckets)
    values = dpd.to_numpy(dtype="int64")
    # Upper edges, with the open-ended last bucket reaching to infinity.
    edges = np.array([b.max_dpd if b.max_dpd is not None else np.iinfo("int64").max for b in buckets])
    index = np.searchsorted(edges, values, side="left")
    names = np.array([b.name for b in buckets] + [CURRENT], dtype=object)
    index = np.where(values <= 0, len(buckets), index)
    return pd.Series(names[index], index=dpd.index, dtype="object")


def bucket_for(dpd: int, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> str:
    return str(assign_buckets(pd.Series([dpd]), buckets).iloc[0])


def bucket_named(name: str, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> Bucket:
    for bucket in buckets:
        if bucket.name == name:
            return bucket
    raise KeyError(f"unknown bucket {name!r}")


def expand_group(names: Sequence[str], groups: dict[str, tuple[str, ...]] = DEFAULT_GROUPS) -> tuple[str, ...]:
    """Bucket names with group names such as ``M2+`` expanded."""
    expanded: list[str] = []
    for name in names:
        expanded.extend(groups.get(name, (name,)))
    return tuple(expanded)


def roll(previous: pd.Series, current: pd.Series, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> pd.Series:
    """forward (to a worse bucket), back (to a better one, or current), same, or new (not seen before)."""
    rank = {CURRENT: 0, **{b.name: i + 1 for i, b in enumerate(buckets)}}
    before, after = previous.map(rank), current.map(rank)
    result = np.select([before.isna(), after > before, after < before], ["new", "forward", "back"], default="same")
    return pd.Series(result, index=current.index, dtype="object")


def segment_frame(
    frame: pd.DataFrame,
    business_date: date,
    previous_buckets: dict[str, str],
    buckets: Sequence[Bucket] = DEFAULT_BUCKETS,
) -> pd.DataFrame:
    """DPD from the oldest unpaid due date, the bucket, and the roll since the previous business date."""
    due = pd.to_datetime(frame["oldest_unpaid_due_date"])
    frame = frame.copy()
    frame["dpd"] = (pd.Timestamp(business_date) - due).dt.days.astype("int64")
    frame["bucket"] = assign_buckets(frame["dpd"], buckets)
    frame["previous_bucket"] = frame["account_id"].map(previous_buckets)
    frame["roll"] = roll(frame["previous_bucket"], frame["bucket"], buckets)
    return frame
