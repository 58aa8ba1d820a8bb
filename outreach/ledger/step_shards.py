"""Which shard of the book a row is in, as stored and as asked of the database.

Planned steps, the day's account facts and the ladder positions keep their account's hash, so the
database itself picks one shard's rows (or one round's: a round of a shard is a shard of a finer cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import ColumnElement, Table

from outreach.ledger.schema import planned_steps
from outreach.shards import Shard, account_hash, account_hashes


def with_account_hash(steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as stored: each with its account's hash, which says its shard."""
    return [{**step, "account_hash": account_hash(step["account_id"])} for step in steps]


def table_with_account_hash(rows: pa.Table) -> pa.Table:
    hashes = pa.array(account_hashes(rows.column("account_id")), pa.int64())
    if "account_hash" in rows.column_names:
        return rows.set_column(rows.column_names.index("account_hash"), "account_hash", hashes)
    return rows.append_column("account_hash", hashes)


def in_shard(shard: Shard, table: Table = planned_steps) -> ColumnElement[bool]:
    """The rows of ``table`` whose account is in one shard of the book."""
    return (table.c.account_hash % shard.count) == shard.index
