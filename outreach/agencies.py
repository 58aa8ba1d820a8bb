"""The bank's list of outside collection agencies, kept in ``agencies.yaml``.

A placement names its agency; the list says what each agency may take (countries,
currencies, from which bucket), so the person approving a placement sees the accounts
that do not fit it before they leave the bank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from outreach.buckets import bucket_named, configured_buckets
from outreach.settings import SHIPPED_AGENCIES
from outreach.yaml_files import parse_yaml


class AgencyError(ValueError):
    """The agencies file is unusable; the message names the file, line and field."""


class Agency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="The agency's legal name, as on the placement contract")
    countries: tuple[str, ...] = Field(min_length=1, description="ISO 3166 alpha-2 codes of the debtors it may work")
    currencies: tuple[str, ...] = Field(min_length=1, description="ISO 4217 codes of the balances it may collect")
    min_bucket: str | None = Field(None, description="The earliest delinquency bucket it takes (e.g. M3)")

    @field_validator("countries", "currencies")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().upper() for v in value)

    @field_validator("min_bucket")
    @classmethod
    def _known_bucket(cls, value: str | None) -> str | None:
        if value is not None:
            bucket_named(value)
        return value

    def misfits(self, account: Mapping[str, Any]) -> list[str]:
        """Why this account does not fit the agency's contract (empty when it does)."""
        found = []
        country = str(account.get("country") or "").upper()
        if country not in self.countries:
            found.append(f"country {country or 'unknown'} is not served ({', '.join(self.countries)})")
        currency = str(account.get("currency") or "").upper()
        if currency not in self.currencies:
            found.append(f"currency {currency or 'unknown'} is not collected ({', '.join(self.currencies)})")
        if self.min_bucket is not None:
            order = [b.name for b in configured_buckets()]
            bucket = str(account.get("bucket") or "")
            if bucket not in order or order.index(bucket) < order.index(self.min_bucket):
                found.append(f"bucket {bucket or 'unknown'} is below {self.min_bucket}, the earliest it takes")
        return found


class AgencyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agencies: dict[str, Agency]

    @field_validator("agencies")
    @classmethod
    def _ids(cls, value: dict[str, Agency]) -> dict[str, Agency]:
        bad = [agency_id for agency_id in value if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", agency_id)]
        if bad:
            raise ValueError(f"agency ids are lower-case letters, digits, - and _: {bad}")
        return value


def load_agencies(path: Path = SHIPPED_AGENCIES) -> dict[str, Agency]:
    """The agencies by id; a missing file means the bank has listed none."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    return parse_yaml(
        text, str(path), AgencyFile, AgencyError, "an agencies file is a mapping: agencies: {id: ...}"
    ).agencies
