"""The numbers behind the ops view, read from the ledger: funnel, daily trend, work for people, one account.

Funnel and trend read the daily rollups (``outreach.rollups``), so any range is
a few rows per day. Contact points are masked in everything returned here.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, select

from outreach.ledger import Ledger
from outreach.ledger.schema import (
    account_snapshots,
    attempts,
    decisions,
    events,
    handoffs,
    payments,
    planned_steps,
    promises,
    quarantined_rows,
)
from outreach.masking import mask_address
from outreach.reconcile import FOR_A_PERSON
from outreach.rollups import FUNNEL

# Ten years of days: enough for any question ops ask, small enough to answer from rollups at once.
MAX_RANGE_DAYS = 3660
ATTENTION_LIMIT = 200


class RangeError(ValueError):
    """The date range asked for is unusable."""


def check_range(start: date, end: date) -> None:
    if end < start:
        raise RangeError(f"end {end} is before start {start}")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise RangeError(f"{(end - start).days + 1} days asked; at most {MAX_RANGE_DAYS}")


def _sums(frame: pd.DataFrame, by: list[str]) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    grouped = frame.groupby(by, as_index=False)[list(FUNNEL)].sum()
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()} for row in _ints(grouped)]


def _ints(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (int(v) if k in FUNNEL else v) for k, v in row.items()} for row in frame.to_dict("records")]


def funnel(ledger: Ledger, start: date, end: date, campaign: str | None) -> dict[str, Any]:
    check_range(start, end)
    rollups = ledger.rollups(start, end, campaign)
    held = ledger.held_by_rule(start, end, campaign)
    totals = {name: int(rollups[name].sum()) if not rollups.empty else 0 for name in FUNNEL}
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "campaign": campaign,
        "totals": totals,
        "rows": _sums(rollups, ["bucket", "channel"]),
        "held_by_rule": {
            str(rule): int(steps)
            for rule, steps in (held.groupby("rule_id")["steps"].sum().sort_values(ascending=False).items())
        }
        if not held.empty
        else {},
    }


def daily(ledger: Ledger, start: date, end: date, campaign: str | None) -> dict[str, Any]:
    check_range(start, end)
    rollups = ledger.rollups(start, end, campaign)
    variants = rollups[rollups["variant"] != ""] if not rollups.empty else rollups
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "campaign": campaign,
        "days": _sums(rollups, ["business_date", "campaign"])
        if campaign is None
        else _sums(rollups, ["business_date"]),
        "variants": _sums(variants, ["variant"]),
        "variants_by_day": _sums(variants, ["business_date", "variant"]),
    }


def attention(ledger: Ledger, start: date, end: date, campaign: str | None) -> dict[str, Any]:
    """What needs a person: placements awaiting approval, REVIEW decisions, sends whose outcome the
    provider cannot confirm or deny, quarantined rows."""
    check_range(start, end)
    waiting = select(
        handoffs.c.account_id,
        handoffs.c.campaign,
        handoffs.c.stage,
        handoffs.c.kind,
        handoffs.c.agency,
        handoffs.c.business_date,
        handoffs.c.reason,
    ).where(handoffs.c.status == "awaiting_approval")
    review = select(
        planned_steps.c.account_id,
        planned_steps.c.campaign,
        planned_steps.c.stage,
        planned_steps.c.channel,
        planned_steps.c.business_date,
        planned_steps.c.reason,
    ).where(and_(planned_steps.c.decision == "review", planned_steps.c.business_date.between(start, end)))
    unknown = (
        select(
            attempts.c.account_id,
            planned_steps.c.campaign,
            planned_steps.c.stage,
            attempts.c.channel,
            planned_steps.c.business_date,
            attempts.c.error.label("reason"),
        )
        .join(planned_steps, planned_steps.c.step_key == attempts.c.step_key)
        .where(attempts.c.error_code == FOR_A_PERSON, planned_steps.c.business_date.between(start, end))
    )
    if campaign:
        waiting = waiting.where(handoffs.c.campaign == campaign)
        review = review.where(planned_steps.c.campaign == campaign)
        unknown = unknown.where(planned_steps.c.campaign == campaign)
    # The raw row may hold contact data: line, field and reason say what to fix.
    quarantine = (
        select(
            quarantined_rows.c.business_date,
            quarantined_rows.c.source,
            quarantined_rows.c.line,
            quarantined_rows.c.field,
            quarantined_rows.c.reason,
        )
        .where(quarantined_rows.c.business_date.between(start, end))
        .order_by(quarantined_rows.c.business_date.desc(), quarantined_rows.c.line)
    )
    with ledger.engine.connect() as conn:
        result = {
            name: [_plain(dict(row)) for row in conn.execute(query.limit(ATTENTION_LIMIT)).mappings()]
            for name, query in (
                ("approvals", waiting),
                ("reviews", review),
                ("unknown_sends", unknown),
                ("quarantined", quarantine),
            )
        }
    return {"start": start.isoformat(), "end": end.isoformat(), "campaign": campaign, **result}


def account(ledger: Ledger, account_id: str) -> dict[str, Any] | None:
    """One account's timeline, contact points masked; None when the ledger has never seen it."""
    with ledger.engine.connect() as conn:
        snapshots = [
            _plain(dict(r))
            for r in conn.execute(
                select(
                    account_snapshots.c.business_date,
                    account_snapshots.c.dpd,
                    account_snapshots.c.bucket,
                    account_snapshots.c.flags,
                    account_snapshots.c.balance_due_minor,
                    account_snapshots.c.currency,
                )
                .where(account_snapshots.c.account_id == account_id)
                .order_by(account_snapshots.c.business_date)
            ).mappings()
        ]
        if not snapshots:
            return None
        position = ledger.positions([account_id]).get(account_id)
        steps = [
            _plain(
                {
                    **{k: v for k, v in dict(r).items() if k != "contact_address"},
                    "contact": mask_address(r["channel"], r["contact_address"]) if r["contact_address"] else None,
                }
            )
            for r in conn.execute(
                select(
                    planned_steps.c.step_key,
                    planned_steps.c.business_date,
                    planned_steps.c.stage,
                    planned_steps.c.channel,
                    planned_steps.c.contact_address,
                    planned_steps.c.decision,
                    planned_steps.c.status,
                    planned_steps.c.reason,
                    planned_steps.c.status_reason,
                    attempts.c.status.label("attempt"),
                )
                .outerjoin(attempts, attempts.c.step_key == planned_steps.c.step_key)
                .where(planned_steps.c.account_id == account_id)
                .order_by(planned_steps.c.business_date, planned_steps.c.step_key)
            ).mappings()
        ]
        timeline = [
            _plain(dict(r))
            for r in conn.execute(
                select(
                    decisions.c.decided_at,
                    decisions.c.business_date,
                    decisions.c.actor,
                    decisions.c.decision,
                    decisions.c.rule_ids,
                    decisions.c.reason,
                )
                .where(decisions.c.account_id == account_id)
                .order_by(decisions.c.id)
            ).mappings()
        ]
        happened = [
            _plain(
                {
                    "occurred_at": r["occurred_at"],
                    "kind": r["kind"],
                    "channel": r["channel"],
                    "outcome": r["outcome"],
                    "from": mask_address(r["channel"] or "sms", r["address"]) if r["address"] else None,
                }
            )
            for r in conn.execute(
                select(events).where(events.c.account_id == account_id).order_by(events.c.occurred_at)
            ).mappings()
        ]
        money = {
            name: [_plain(dict(r)) for r in conn.execute(query).mappings()]
            for name, query in (
                (
                    "payments",
                    select(payments.c.paid_on, payments.c.amount_minor, payments.c.currency, payments.c.source).where(
                        payments.c.account_id == account_id
                    ),
                ),
                (
                    "promises",
                    select(
                        promises.c.promised_on, promises.c.amount_minor, promises.c.currency, promises.c.status
                    ).where(promises.c.account_id == account_id),
                ),
                (
                    "handoffs",
                    select(
                        handoffs.c.business_date,
                        handoffs.c.stage,
                        handoffs.c.kind,
                        handoffs.c.status,
                        handoffs.c.decided_by,
                        handoffs.c.decision_note,
                    ).where(handoffs.c.account_id == account_id),
                ),
            )
        }
    return {
        "account_id": account_id,
        "position": _plain(position.as_row()) if position else None,
        "snapshots": snapshots,
        "steps": steps,
        "decisions": timeline,
        "events": happened,
        **money,
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def default_range(today: date, days: int = 7) -> tuple[date, date]:
    return today - timedelta(days=days - 1), today
