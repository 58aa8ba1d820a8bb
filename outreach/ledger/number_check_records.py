"""Ledger reads and writes for the Reassigned Numbers Database's answers, kept as events (evidence)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from outreach.ledger.schema import events

NUMBER_CHECK = "number_check"
CHUNK = 1000


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class NumberCheckRecords:
    engine: Engine

    def latest_number_checks(self, numbers: Iterable[str], answer: str | None = None) -> dict[str, datetime]:
        """When each number was last checked (with that ``answer``, if given), for those ever checked."""
        where = [events.c.kind == NUMBER_CHECK] + ([events.c.outcome == answer] if answer else [])
        latest = self._per_key(events.c.address, func.max(events.c.occurred_at), numbers, *where)
        return {number: _utc(at) for number, at in latest.items()}

    def _per_key(self, key: Any, aggregate: Any, keys: Iterable[str], *where: Any) -> dict[str, Any]:
        wanted = sorted(set(keys))
        found: dict[str, Any] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                found.update(conn.execute(select(key, aggregate).where(key.in_(chunk), *where).group_by(key)).all())
        return found

    def record_number_checks(self, rows: Sequence[dict[str, Any]]) -> None:
        """Keep each answer (``account_id``, ``number``, ``since``, ``answer``, ``checked_at``, ``source``)."""
        if not rows:
            return
        values = [
            {
                "account_id": row["account_id"],
                "channel": "sms",
                "kind": NUMBER_CHECK,
                "outcome": row["answer"],
                "address": row["number"],
                "occurred_at": row["checked_at"],
                "recorded_at": row["checked_at"],
                "payload": {"since": row["since"].isoformat(), "source": row["source"]},
            }
            for row in rows
        ]
        with self.engine.begin() as conn:
            for start in range(0, len(values), CHUNK):
                conn.execute(insert(events), values[start : start + CHUNK])
