"""Ledger reads and writes for the day's dispatch waves: what still waits, when it may go, what expired."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, exists, func, insert, select, update

from outreach.ledger.schema import attempts, decisions, dispatch_waves, planned_steps
from outreach.ledger.step_shards import in_shard
from outreach.shards import Shard


def _unsent_scope(business_date: date, campaign: str | None, run_id: str | None, shard: Shard | None = None):
    """Pending steps of a day (one campaign's, one run's, one shard's) that no dispatcher has claimed."""
    scope = and_(
        planned_steps.c.business_date == business_date,
        planned_steps.c.status == "pending",
        ~exists().where(attempts.c.step_key == planned_steps.c.step_key),
    )
    if campaign is not None:
        scope = and_(scope, planned_steps.c.campaign == campaign)
    if run_id is not None:
        scope = and_(scope, planned_steps.c.run_id == run_id)
    if shard is not None and not shard.whole:
        scope = and_(scope, in_shard(shard))
    return scope


class WaveRecords:
    engine: Engine

    def next_window_opening(
        self,
        business_date: date,
        after: datetime,
        before: datetime,
        campaign: str | None,
        run_id: str | None = None,
        shard: Shard | None = None,
    ) -> tuple[datetime | None, int]:
        """When the next waiting step's window opens (after ``after``, before ``before``), and how many wait."""
        scope = _unsent_scope(business_date, campaign, run_id, shard)
        later = and_(scope, planned_steps.c.window_start > after, planned_steps.c.window_start < before)
        with self.engine.connect() as conn:
            first, waiting = conn.execute(
                select(func.min(planned_steps.c.window_start), func.count()).where(later)
            ).one()
        if first is None:
            return None, int(waiting)
        # SQLite hands back naive text; the ledger only ever stores UTC.
        instant = pd.Timestamp(first)
        instant = instant.tz_localize("UTC") if instant.tzinfo is None else instant.tz_convert("UTC")
        return instant.to_pydatetime(), int(waiting)

    def expire_unsent(
        self,
        business_date: date,
        campaign: str | None,
        run_id: str | None,
        reason: str,
        decided_at: datetime,
        decided_by_run: str,
        shard: Shard | None = None,
    ) -> int:
        """Expire every step of the scope still waiting to go, each with ``reason`` on its record and in the audit."""
        scope = _unsent_scope(business_date, campaign, run_id, shard)
        with self.engine.begin() as conn:
            rows = conn.execute(select(planned_steps.c.step_key, planned_steps.c.account_id).where(scope)).all()
            if not rows:
                return 0
            keys = [key for key, _ in rows]
            for start in range(0, len(keys), 1000):
                conn.execute(
                    update(planned_steps)
                    .where(
                        planned_steps.c.step_key.in_(keys[start : start + 1000]), planned_steps.c.status == "pending"
                    )
                    .values(status="expired", status_reason=reason)
                )
            conn.execute(
                insert(decisions),
                [
                    {
                        "decided_at": decided_at,
                        "run_id": decided_by_run,
                        "business_date": business_date,
                        "account_id": account_id,
                        "step_key": key,
                        "actor": "dispatcher",
                        "decision": "expired",
                        "rule_ids": "",
                        "reason": reason,
                    }
                    for key, account_id in rows
                ],
            )
        return len(rows)

    def record_wave(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(dispatch_waves).values(**row))

    def waves(
        self,
        business_date: date | None = None,
        campaign: str | None = None,
        run_id: str | None = None,
        shard: Shard | None = None,
    ) -> pd.DataFrame:
        """Waves recorded, oldest first; with ``shard``, only that shard's (the whole book's for one of one)."""
        query = select(dispatch_waves)
        if shard is not None:
            query = query.where(
                dispatch_waves.c.shard.is_(None)
                if shard.whole
                else and_(dispatch_waves.c.shard == shard.index, dispatch_waves.c.shards == shard.count)
            )
        if business_date is not None:
            query = query.where(dispatch_waves.c.business_date == business_date)
        if campaign is not None:
            query = query.where(dispatch_waves.c.campaign == campaign)
        if run_id is not None:
            query = query.where(dispatch_waves.c.run_id == run_id)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query.order_by(dispatch_waves.c.at, dispatch_waves.c.id), conn)
        for column in ("at", "started_at", "next_wave_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame
