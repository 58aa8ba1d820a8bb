"""Ledger reads and writes for the ops view's daily rollups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, delete, func, insert, select

from outreach.ledger.schema import daily_rollups, held_rollups


class RollupRecords:
    engine: Engine

    def replace_rollup(
        self, business_date: date, campaign: str, funnel: Sequence[dict[str, Any]], held: Sequence[dict[str, Any]]
    ) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for table in (daily_rollups, held_rollups):
                conn.execute(
                    delete(table).where(and_(table.c.business_date == business_date, table.c.campaign == campaign))
                )
            if funnel:
                conn.execute(
                    insert(daily_rollups),
                    [
                        {**row, "business_date": business_date, "campaign": campaign, "updated_at": now}
                        for row in funnel
                    ],
                )
            if held:
                conn.execute(
                    insert(held_rollups),
                    [{**row, "business_date": business_date, "campaign": campaign} for row in held],
                )

    def rollups(self, start: date, end: date, campaign: str | None = None) -> pd.DataFrame:
        query = select(daily_rollups).where(daily_rollups.c.business_date.between(start, end))
        if campaign:
            query = query.where(daily_rollups.c.campaign == campaign)
        with self.engine.connect() as conn:
            return pd.read_sql(query.order_by(daily_rollups.c.business_date), conn)

    def latest_rollup_date(self, on_or_before: date, campaign: str | None = None) -> date | None:
        """The newest business date with a rollup (up to ``on_or_before``): the last day there is data to show."""
        query = select(func.max(daily_rollups.c.business_date)).where(daily_rollups.c.business_date <= on_or_before)
        if campaign:
            query = query.where(daily_rollups.c.campaign == campaign)
        with self.engine.connect() as conn:
            latest = conn.execute(query).scalar()
        if latest is None or isinstance(latest, date):
            return latest
        return date.fromisoformat(str(latest)[:10])

    def held_by_rule(self, start: date, end: date, campaign: str | None = None) -> pd.DataFrame:
        query = select(held_rollups).where(held_rollups.c.business_date.between(start, end))
        if campaign:
            query = query.where(held_rollups.c.campaign == campaign)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)
