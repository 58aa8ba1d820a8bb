"""A day's accounts split into shards by a stable hash of the account id.

A campaign's plan decides each account from its own history and what was known before the day
began, never from another account's decision that day, so the book can be cut into shards that
are planned and dispatched independently, on as many workers as there are shards, and the day is
the same as one pass over the whole book. The hash is CRC-32 of the account id: the same account
is in the same shard on every machine, in every process and on every day, and the ledger keeps it
on each planned step (``account_hash``) so the database can pick a shard's steps itself.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa


def account_hash(account_id: str) -> int:
    return zlib.crc32(str(account_id).encode("utf-8"))


def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1).astype(np.uint32)
    return table


_CRC_TABLE = _crc_table()


def account_hashes(account_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``account_hash`` of each id, all at once: CRC-32 taken a byte position at a time across every id,
    where one call per id costs half a second for a book of a million."""
    ids = account_ids.combine_chunks() if isinstance(account_ids, pa.ChunkedArray) else account_ids
    ids = ids.cast(pa.large_string())
    if ids.null_count:
        raise ValueError("an account id is missing: it has no shard")
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[ids.offset : ids.offset + len(ids) + 1]
    data = ids.buffers()[2]
    text = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    crc = np.full(len(ids), 0xFFFFFFFF, dtype=np.uint32)
    for position in range(int(lengths.max()) if len(ids) else 0):
        # Ids of one length (the usual book) take every row at each position; others only their own.
        rows = slice(None) if lengths.min() > position else np.flatnonzero(lengths > position)
        byte = text[starts[rows] + position]
        crc[rows] = _CRC_TABLE[(crc[rows] ^ byte) & 0xFF] ^ (crc[rows] >> 8)
    return (crc ^ np.uint32(0xFFFFFFFF)).astype(np.int64)


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

    def rounds(self, accounts: int, per_round: int) -> list[Shard]:
        """This shard cut into rounds of at most about ``per_round`` of its ``accounts`` each.

        Round ``k`` of ``n`` is shard ``index + count * k`` of ``count * n``: an account's hash modulo
        ``count * n`` is congruent to it modulo ``count``, so the rounds hold every account of this
        shard exactly once, and a round is planned like any shard.
        """
        many = max(1, math.ceil(accounts / per_round))
        return [Shard(self.index + self.count * k, self.count * many) for k in range(many)]

    def as_ref(self) -> list[int]:
        return [self.index, self.count]

    def __str__(self) -> str:
        return "the whole book" if self.whole else f"shard {self.index + 1} of {self.count}"


def all_shards(count: int) -> list[Shard]:
    return [Shard(index, count) for index in range(count)]
