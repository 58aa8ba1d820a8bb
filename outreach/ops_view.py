"""The numbers behind the ops view, read from the ledger: funnel, daily trend, work for people, one account.

Funnel and trend read the daily rollups (``outreach.rollups``), so any range is
a few rows per day; the self-service funnel reads the range's self-service events
(``ix_events_kind_time``). Contact points are masked in everything returned here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, and_, case, func, literal_column, select

from outreach.ledger import Ledger
from outreach.ledger.schema import (
    account_snapshots,
    attempts,
    decisions,
    dispatch_waves,
    events,
    handoffs,
    ladder_states,
    payments,
    pipeline_runs,
    planned_steps,
    promises,
    quarantined_rows,
)
from outreach.ledger.selfservice_records import FUNNEL_EVENT
from outreach.masking import mask_address
from outreach.parties import DEBTOR, spoken
from outreach.policy.zones import candidate_zones
from outreach.reconcile import FOR_A_PERSON
from outreach.report import CONTACT_RATE_DEFINITION, PAYMENT_RATE_DEFINITION, ladder_report
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
    # Whom the agent calls, and at which number (the planned step's): another party's, never the debtor's.
    agents = (
        select(
            handoffs.c.account_id,
            handoffs.c.campaign,
            handoffs.c.stage,
            handoffs.c.business_date,
            handoffs.c.created_at,
            handoffs.c.recipient,
            planned_steps.c.contact_address,
        )
        .outerjoin(planned_steps, planned_steps.c.step_key == handoffs.c.step_key)
        .where(handoffs.c.kind == "agent_queue", handoffs.c.status == "open")
    )
    if campaign:
        waiting = waiting.where(handoffs.c.campaign == campaign)
        review = review.where(planned_steps.c.campaign == campaign)
        unknown = unknown.where(planned_steps.c.campaign == campaign)
        agents = agents.where(handoffs.c.campaign == campaign)
    queries = (
        ("approvals", waiting),
        ("agent_queue", agents.order_by(handoffs.c.created_at)),
        ("reviews", review),
        ("unknown_sends", unknown),
    )
    with ledger.engine.connect() as conn:
        result = {
            name: [_plain(dict(row)) for row in conn.execute(query.limit(ATTENTION_LIMIT)).mappings()]
            for name, query in queries
        }
        result["agent_queue"] = [_call(row) for row in result["agent_queue"]]
        counts = {
            name: conn.execute(select(func.count()).select_from(query.subquery())).scalar() for name, query in queries
        }
        result["quarantined"] = _quarantined(conn, start, end)
    counts["quarantined"] = len(result["quarantined"])
    return {"start": start.isoformat(), "end": end.isoformat(), "campaign": campaign, "counts": counts, **result}


def _quarantined(conn: Connection, start: date, end: date) -> list[dict[str, Any]]:
    """Each bad source line once, with the campaigns whose runs read it: every campaign of a day reads the
    same source, and a line is one thing to fix however many runs met it. The raw row may hold contact
    data: line, field and reason say what to fix."""
    query = (
        select(
            quarantined_rows.c.business_date,
            quarantined_rows.c.source,
            quarantined_rows.c.line,
            quarantined_rows.c.field,
            quarantined_rows.c.reason,
            quarantined_rows.c.run_id,
        )
        .where(quarantined_rows.c.business_date.between(start, end))
        .order_by(quarantined_rows.c.business_date.desc(), quarantined_rows.c.line, quarantined_rows.c.field)
    )
    lines: dict[tuple, dict[str, Any]] = {}
    runs: dict[tuple, set[str]] = {}
    for row in conn.execute(query).mappings():
        key = (row["business_date"], row["source"], row["line"], row["field"], row["reason"])
        if key not in lines:
            if len(lines) == ATTENTION_LIMIT:
                break
            lines[key] = _plain({k: v for k, v in row.items() if k != "run_id"})
        runs.setdefault(key, set()).add(row["run_id"])
    campaigns = _campaigns_of_runs(conn, set().union(*runs.values()) if runs else set())
    return [
        line | {"campaigns": sorted({c for run in runs[key] for c in campaigns.get(run, ())})}
        for key, line in lines.items()
    ]


def _campaigns_of_runs(conn: Connection, run_ids: set[str]) -> dict[str, set[str]]:
    """The campaigns each run planned or dispatched (one pull may serve several campaigns)."""
    found: dict[str, set[str]] = {}
    if not run_ids:
        return found
    for table in (pipeline_runs, dispatch_waves):
        query = select(table.c.run_id, table.c.campaign).where(table.c.run_id.in_(run_ids)).distinct()
        for run_id, campaign in conn.execute(query):
            if campaign:
                found.setdefault(run_id, set()).add(campaign)
    return found


def account(ledger: Ledger, account_id: str) -> dict[str, Any] | None:
    """One account's timeline, contact points masked; None when the ledger has never seen it.
    ``account_id`` may be typed in any case."""
    account_id = ledger.known_account_id(account_id) or account_id
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
        zone = _local_zone(conn, account_id)
        steps = [
            _plain(
                {
                    **{k: v for k, v in dict(r).items() if k not in ("contact_address", "claimed_at", "recipient")},
                    "contact": _contact(r["recipient"], r["channel"], r["contact_address"]),
                    **_final_decision(r, zone),
                }
            )
            for r in conn.execute(
                select(
                    planned_steps.c.step_key,
                    planned_steps.c.business_date,
                    planned_steps.c.stage,
                    planned_steps.c.channel,
                    planned_steps.c.contact_address,
                    planned_steps.c.recipient,
                    planned_steps.c.decision,
                    planned_steps.c.status,
                    planned_steps.c.reason,
                    planned_steps.c.status_reason,
                    attempts.c.status.label("attempt"),
                    attempts.c.claimed_at,
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
                        promises.c.promised_on,
                        promises.c.amount_minor,
                        promises.c.currency,
                        promises.c.status,
                        promises.c.instalments,
                    ).where(promises.c.account_id == account_id),
                ),
                (
                    "handoffs",
                    select(
                        handoffs.c.business_date,
                        handoffs.c.stage,
                        handoffs.c.kind,
                        handoffs.c.recipient,
                        handoffs.c.status,
                        handoffs.c.decided_by,
                        handoffs.c.decision_note,
                    ).where(handoffs.c.account_id == account_id),
                ),
            )
        }
    money["handoffs"] = [{**row, "recipient": spoken(row["recipient"] or DEBTOR)} for row in money["handoffs"]]
    return {
        "account_id": account_id,
        "position": _plain(position.as_row()) if position else None,
        "snapshots": snapshots,
        "steps": steps,
        "decisions": timeline,
        "events": happened,
        **money,
    }


def _local_zone(conn: Connection, account_id: str) -> ZoneInfo:
    """The account's primary zone as the policy sees it (stated, else from address and phones)."""
    row = (
        conn.execute(
            select(
                account_snapshots.c.stated_timezone,
                account_snapshots.c.mobile_phone,
                account_snapshots.c.home_phone,
                account_snapshots.c.work_phone,
                account_snapshots.c.country,
                account_snapshots.c.region,
            )
            .where(account_snapshots.c.account_id == account_id)
            .order_by(account_snapshots.c.business_date.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return ZoneInfo("UTC")
    zones = candidate_zones(
        row["stated_timezone"],
        (row["mobile_phone"], row["home_phone"], row["work_phone"]),
        row["country"],
        row["region"],
    )
    return ZoneInfo(zones[0]) if zones else ZoneInfo("UTC")


def _final_decision(step: Mapping[str, Any], zone: ZoneInfo) -> dict[str, str]:
    """What finally happened to a step and why, in words: a step sent after waiting for its window says when
    it went, in the debtor's time, and why it first waited, instead of the planner's first word."""
    if step["attempt"]:
        at = step["claimed_at"]
        if at is not None and not hasattr(at, "astimezone"):
            at = datetime.fromisoformat(str(at))
        when = ""
        if at is not None:
            local = at.replace(tzinfo=at.tzinfo or UTC).astimezone(zone)
            business_date = step["business_date"]
            on_its_day = str(local.date()) == str(business_date)[:10]
            # A replayed day (the demo, a rehearsal) is sent later than its date: then the full instant, in UTC.
            when = f" at {local:%H:%M} {zone.key} time" if on_its_day else f" (claimed {at:%Y-%m-%d %H:%M} UTC)"
        went = "sent" if step["attempt"] not in ("claimed", "unknown", "failed") else f"send {step['attempt']}"
        why = f"{went}{when}"
        if step["decision"] == "defer":
            why += f"; first deferred: {step['reason']}"
        return {"final": step["attempt"], "why": why}
    return {"final": step["status"], "why": step["status_reason"] or step["reason"]}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


# The self-service page's actions (``outreach.selfservice.actions``); "pay" is the hand-off to the bank's page.
SELF_SERVICE_ACTIONS = ("promise", "plan", "plan_request", "dispute", "hardship", "complaint", "preferences")
SELF_SERVICE_DEFINITIONS = {
    "opened": "accounts that opened a message's self-service link for the first time in the dates shown",
    "verified": "of those, accounts that typed the texted code on such a link (at any time since)",
    "acted": "of those, accounts that recorded an action on such a link: "
    + ", ".join(SELF_SERVICE_ACTIONS).replace("_", " "),
    "to_payment_page": "of those, accounts sent on from such a link to the bank's payment page",
    "paid": "of those, accounts with a payment dated on or after the business day they first opened such a link",
}


def self_service_funnel(
    ledger: Ledger, start: date, end: date, campaign: str | None, timezone: str = "UTC"
) -> dict[str, Any]:
    """The debtor self-service funnel per campaign, stage and champion/challenger arm, in distinct accounts.

    The cohort is the links first opened on the business days ``start`` to ``end`` in ``timezone``
    (UTC unless given; the ops API passes the business timezone, as the rollups' days are); what
    those links led to counts whenever it happened. A row is the campaign and stage of the message
    whose link was opened, and the account's arm on that campaign's ladder (``""`` for none). An
    account that opened several links of a row counts once in it; ``paid`` compares its payments'
    dates with the business day it first opened a link of the row. Two queries, both starting from
    the range's ``self_service`` events.
    """
    check_range(start, end)
    zone = ZoneInfo(timezone)
    since = datetime.combine(start, time(0), zone).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(UTC)
    arm = func.coalesce(ladder_states.c.variant, literal_column("''")).label("arm")
    group = (planned_steps.c.campaign, planned_steps.c.stage, arm)

    def cohort(table: Any) -> Any:
        """``table``'s links with the campaign and stage of their message and the account's arm on it."""
        return table.join(planned_steps, planned_steps.c.step_key == table.c.step_key).outerjoin(
            ladder_states,
            and_(
                ladder_states.c.account_id == table.c.account_id, ladder_states.c.campaign == planned_steps.c.campaign
            ),
        )

    chosen = [planned_steps.c.campaign == campaign] if campaign else []
    steps = {
        "verified": ("verified",),
        "acted": SELF_SERVICE_ACTIONS,
        "to_payment_page": ("pay",),
        **{f"action_{name}": (name,) for name in SELF_SERVICE_ACTIONS},
    }
    # One range scan of the index: each link (account and message) seen since the range began, with when it
    # was first opened and which later steps it had; a link opened before the range has no opening here.
    opened_at = func.min(case((events.c.outcome == "opened", events.c.occurred_at)))
    links = (
        select(
            events.c.account_id,
            events.c.step_key,
            opened_at.label("opened_at"),
            *(func.max(case((events.c.outcome.in_(outcomes), 1), else_=0)).label(n) for n, outcomes in steps.items()),
        )
        .where(events.c.kind == FUNNEL_EVENT, events.c.occurred_at >= since)
        .group_by(events.c.account_id, events.c.step_key)
        .having(opened_at < until)
        .subquery("links")
    )
    counts = (
        select(
            *group,
            func.count(func.distinct(links.c.account_id)).label("opened"),
            *(func.count(func.distinct(case((links.c[n] == 1, links.c.account_id)))).label(n) for n in steps),
        )
        .select_from(cohort(links))
        .where(*chosen)
        .group_by(*group)
    )
    # Only the accounts of the cohort that paid on or after the range's first day: one row per account and row.
    payers = (
        select(
            *group,
            events.c.account_id,
            func.min(events.c.occurred_at).label("first_opened"),
            func.max(payments.c.paid_on).label("last_paid"),
        )
        .select_from(
            cohort(events).join(
                payments, and_(payments.c.account_id == events.c.account_id, payments.c.paid_on >= start)
            )
        )
        .where(
            events.c.kind == FUNNEL_EVENT,
            events.c.outcome == "opened",
            events.c.occurred_at >= since,
            events.c.occurred_at < until,
            *chosen,
        )
        .group_by(*group, events.c.account_id)
    )
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    with ledger.engine.connect() as conn:
        for row in conn.execute(counts).mappings():
            rows[(row["campaign"], row["stage"], row["arm"])] = {
                "campaign": row["campaign"],
                "stage": row["stage"],
                "arm": row["arm"],
                **{name: int(row[name]) for name in ("opened", "verified", "acted", "to_payment_page")},
                "paid": 0,
                "actions": {name: int(row[f"action_{name}"]) for name in SELF_SERVICE_ACTIONS},
            }
        for row in conn.execute(payers).mappings():
            if _as_date(row["last_paid"]) >= _local_date(row["first_opened"], zone):
                rows[(row["campaign"], row["stage"], row["arm"])]["paid"] += 1
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "campaign": campaign,
        "timezone": timezone,
        "definitions": SELF_SERVICE_DEFINITIONS,
        "actions": list(SELF_SERVICE_ACTIONS),
        # No totals: an account may open links of several stages, so rows do not add up to accounts.
        "rows": [rows[key] for key in sorted(rows)],
    }


def _local_date(at: datetime | str, zone: ZoneInfo) -> date:
    """The date in ``zone`` of an instant the ledger holds (SQLite gives it back without its zone: UTC)."""
    if not isinstance(at, datetime):
        at = datetime.fromisoformat(str(at))
    return at.replace(tzinfo=at.tzinfo or UTC).astimezone(zone).date()


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def default_range(ledger: Ledger, today: date, days: int = 1, campaign: str | None = None) -> tuple[date, date]:
    """The ``days`` business days up to the latest one with data (today when there is none yet): a page
    opened the morning after a run, or on a replayed book, shows that run rather than empty days."""
    latest = ledger.latest_rollup_date(today, campaign) or ledger.latest_business_date(today) or today
    return latest - timedelta(days=days - 1), latest


def arms(ledger: Ledger, campaigns: list[str], as_of: date) -> dict[str, Any]:
    """Each campaign's champion/challenger arms side by side, the same figures as the run report's."""
    found = {}
    for campaign in campaigns:
        variants = ladder_report(ledger, campaign, as_of)["variants"]
        if variants:
            found[campaign] = variants
    return {"contacted": CONTACT_RATE_DEFINITION, "paid": PAYMENT_RATE_DEFINITION, "campaigns": found}


def _contact(recipient: str | None, channel: str, address: str | None) -> str | None:
    """Whom a step addressed when not the debtor, and where, masked (the ops view's "To" column):
    "guarantor: a***@example.com", "guarantor" (a letter), "+1******0142"."""
    parts = [spoken(recipient) if recipient else "", mask_address(channel, address) if address else ""]
    return ": ".join(part for part in parts if part) or None


def _call(row: dict[str, Any]) -> dict[str, Any]:
    """An open agent-queue row as the ops view lists it: whom to call and their number, masked."""
    recipient = row.pop("recipient")
    number = row.pop("contact_address")
    return row | {"recipient": spoken(recipient or DEBTOR), "number": mask_address("voice", number) or None}
