"""Saved segments: named filters over the day's accounts, kept in ``segments.yaml``.

Ops pick one in the manual escalation form instead of pasting account ids, so
the same definition is used every time and is on record in version control.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from outreach.buckets import checked_group, expand_group
from outreach.settings import SHIPPED_SEGMENTS
from outreach.yaml_files import parse_yaml

if TYPE_CHECKING:
    import pandas as pd

    from outreach.ladder import Position

LadderStatus = Literal["active", "paused", "awaiting_approval", "complete", "ended"]


class SegmentError(ValueError):
    """The segments file is unusable; the message names the file, line and field."""


class Segment(BaseModel):
    """Accounts of the day that match every filter given (an empty filter matches all)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1)
    buckets: tuple[str, ...] = ()
    dpd_min: int | None = Field(default=None, ge=0)
    dpd_max: int | None = Field(default=None, ge=0)
    # In the account's currency, major units (2500 is 2,500.00).
    balance_min: Decimal | None = Field(default=None, ge=0)
    regions: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    # Where the account stands on its ladder today.
    stages: tuple[str, ...] = ()
    statuses: tuple[LadderStatus, ...] = ()

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(checked_group(value))

    @model_validator(mode="after")
    def _range(self) -> Segment:
        if self.dpd_min is not None and self.dpd_max is not None and self.dpd_min > self.dpd_max:
            raise ValueError(f"dpd_min {self.dpd_min} is above dpd_max {self.dpd_max}")
        return self

    def select(self, snapshot: pd.DataFrame, positions: Mapping[str, Position]) -> list[str]:
        """The matching account ids of ``snapshot``, in order."""
        keep = snapshot["account_id"].notna()
        if self.buckets:
            keep &= snapshot["bucket"].isin(expand_group(self.buckets))
        if self.dpd_min is not None:
            keep &= snapshot["dpd"] >= self.dpd_min
        if self.dpd_max is not None:
            keep &= snapshot["dpd"] <= self.dpd_max
        if self.balance_min is not None:
            keep &= snapshot["balance_due_minor"] >= int(self.balance_min * 100)
        if self.regions:
            keep &= snapshot["region"].isin(self.regions)
        if self.products:
            keep &= snapshot["product"].isin(self.products)
        chosen = snapshot.loc[keep, "account_id"].tolist()
        if self.stages or self.statuses:
            chosen = [a for a in chosen if a in positions and self._on_ladder(positions[a])]
        return sorted(chosen)

    def _on_ladder(self, position: Position) -> bool:
        return (not self.stages or position.stage in self.stages) and (
            not self.statuses or position.status in self.statuses
        )


class SegmentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    segments: dict[str, Segment]

    @field_validator("segments")
    @classmethod
    def _names(cls, value: dict[str, Segment]) -> dict[str, Segment]:
        bad = [name for name in value if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name)]
        if bad:
            raise ValueError(f"segment names are lower-case letters, digits, - and _: {bad}")
        return value


def load_segments(path: Path = SHIPPED_SEGMENTS) -> dict[str, Segment]:
    """The saved segments by name; a missing file means there are none."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    return parse_yaml(
        text, str(path), SegmentFile, SegmentError, "a segments file is a mapping: segments: {name: ...}"
    ).segments
