"""Which shard of the book a planned step is in, as stored and as asked of the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement

from outreach.ledger.schema import planned_steps
from outreach.shards import Shard, account_hash


def with_account_hash(steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Planned steps as stored: each with its account's hash, which says its shard."""
    return [{**step, "account_hash": account_hash(step["account_id"])} for step in steps]


def in_shard(shard: Shard) -> ColumnElement[bool]:
    """The planned steps of one shard of the book."""
    return (planned_steps.c.account_hash % shard.count) == shard.index
