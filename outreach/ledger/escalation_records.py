"""Ledger reads and writes for manual escalations: the request, each account's outcome, the steps added."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, exists, insert, select, update

from outreach.ledger.schema import attempts, decisions, escalated_accounts, escalations, planned_steps
from outreach.ledger.step_shards import with_account_hash


class EscalationRecords:
    engine: Engine

    def record_escalation(self, request: dict[str, Any], accounts: Sequence[dict[str, Any]]) -> int:
        """Store who asked for what and why, and what became of each account; the escalation's id."""
        with self.engine.begin() as conn:
            escalation_id = conn.execute(insert(escalations).values(**request)).inserted_primary_key[0]
            if accounts:
                conn.execute(insert(escalated_accounts), [{**row, "escalation_id": escalation_id} for row in accounts])
        return int(escalation_id)

    def escalation_by_run(self, run_id: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(escalations.c.id).where(escalations.c.run_id == run_id)).scalar()

    def escalation(self, escalation_id: int) -> tuple[dict[str, Any], pd.DataFrame]:
        """The request and its accounts, in account order."""
        with self.engine.connect() as conn:
            request = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).mappings().one()
            accounts = pd.read_sql(
                select(escalated_accounts)
                .where(escalated_accounts.c.escalation_id == escalation_id)
                .order_by(escalated_accounts.c.account_id),
                conn,
            )
        return dict(request), accounts.astype(object).where(accounts.notna(), None)

    def escalations_of(self, account_id: str) -> pd.DataFrame:
        """Every escalation that named the account, oldest first (for ``outreach explain``)."""
        query = (
            select(escalations, escalated_accounts.c.outcome, escalated_accounts.c.detail)
            .join(escalated_accounts, escalated_accounts.c.escalation_id == escalations.c.id)
            .where(escalated_accounts.c.account_id == account_id)
            .order_by(escalations.c.requested_at)
        )
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def add_steps(self, steps: Sequence[dict[str, Any]], audit: Sequence[dict[str, Any]]) -> None:
        """Add steps to a day's plan without touching the rest of it (keys already planned are kept)."""
        keys = [s["step_key"] for s in steps]
        with self.engine.begin() as conn:
            existing = set(
                conn.execute(select(planned_steps.c.step_key).where(planned_steps.c.step_key.in_(keys))).scalars()
            )
            fresh = with_account_hash([s for s in steps if s["step_key"] not in existing])
            if fresh:
                conn.execute(insert(planned_steps), fresh)
            if audit:
                conn.execute(insert(decisions), list(audit))

    def supersede_steps(
        self, business_date: date, campaign: str, account_ids: Sequence[str], keep: set[str], reason: str
    ) -> int:
        """Hold the accounts' other pending steps of the day: their ladder moved past them."""
        if not account_ids:
            return 0
        scope = and_(
            planned_steps.c.business_date == business_date,
            planned_steps.c.campaign == campaign,
            planned_steps.c.account_id.in_(list(account_ids)),
            planned_steps.c.status == "pending",
            planned_steps.c.step_key.not_in(list(keep) or [""]),
            ~exists().where(attempts.c.step_key == planned_steps.c.step_key),
        )
        with self.engine.begin() as conn:
            return conn.execute(update(planned_steps).where(scope).values(status="held", status_reason=reason)).rowcount
