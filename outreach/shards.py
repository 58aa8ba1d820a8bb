"""A day's accounts split into shards by a stable hash of the account id.

A campaign's plan decides each account from its own history and what was known before the day
began, never from another account's decision that day, so the book can be cut into shards that
are planned and dispatched independently, on as many workers as there are shards, and the day is
the same as one pass over the whole book. The hash is CRC-32 of the account id: the same account
is in the same shard on every machine, in every process and on every day, and the ledger keeps it
on each planned step (``account_hash``) so the database can pick a shard's steps itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd


def account_hash(account_id: str) -> int:
    return zlib.crc32(str(account_id).encode("utf-8"))


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based); the default, one of one, is the whole book."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"no shard {self.index} of {self.count}")

    @classmethod
    def of(cls, ref: Mapping[str, Any]) -> Shard:
        """The shard a run reference is for (a reference without one is for the whole book)."""
        given = ref.get("shard")
        return cls(int(given[0]), int(given[1])) if given else cls()

    @property
    def whole(self) -> bool:
        return self.count == 1

    def holds(self, account_id: str) -> bool:
        return self.whole or account_hash(account_id) % self.count == self.index

    def rows(self, frame: pd.DataFrame, column: str = "account_id") -> pd.DataFrame:
        """The rows of ``frame`` whose account is in this shard."""
        if self.whole or frame.empty:
            return frame
        return frame[[self.holds(a) for a in frame[column]]]

    def accounts(self, account_ids: Iterable[str]) -> list[str]:
        return [a for a in account_ids if self.holds(a)]

    def as_ref(self) -> list[int]:
        return [self.index, self.count]

    def __str__(self) -> str:
        return "the whole book" if self.whole else f"shard {self.index + 1} of {self.count}"


def all_shards(count: int) -> list[Shard]:
    return [Shard(index, count) for index in range(count)]
