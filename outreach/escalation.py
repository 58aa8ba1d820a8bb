"""Escalation by hand: a person moves chosen accounts to a later stage of their campaign's ladder.

A request names the accounts (ids, or a saved segment), the target stage and
why. Each account goes through the checks the daily plan makes: still overdue
in a bucket the campaign serves, not under a promise to pay or an approval
already asked for, not at or past the target already. Then the planner plans
the target stage and the contact policy decides each of its channels exactly
as it does for the daily run, so an account on hold (bankruptcy, dispute,
cease and desist, ...) is refused with the policy's own reason. Every outcome,
moved or refused, carries a reason; a dry run changes nothing.

A pure function, like the planner: ``outreach.pipeline.escalate`` reads the
ledger, calls it and writes what it returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from outreach.buckets import CURRENT
from outreach.campaigns import Campaign
from outreach.escalation_request import EscalationRequest
from outreach.ladder import History, Position, is_account_hold, money
from outreach.planner import BusinessDay, Plan, plan_day
from outreach.policy import RuleSet
from outreach.saved_segments import Segment


@dataclass(frozen=True)
class AccountOutcome:
    account_id: str
    from_stage: str | None
    to_stage: str
    outcome: str  # escalated | would_escalate | refused | not_found
    detail: str

    def as_row(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Escalation:
    request: EscalationRequest
    outcomes: list[AccountOutcome] = field(default_factory=list)
    # The steps, hand-offs and audit rows of the accounts that move (empty on a dry run's refusals).
    plan: Plan = field(default_factory=Plan)
    positions: list[Position] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(o.outcome for o in self.outcomes))

    @property
    def moved(self) -> list[str]:
        return [p.account_id for p in self.positions]


def escalate(
    request: EscalationRequest,
    campaign: Campaign,
    snapshot: pd.DataFrame,
    positions: Mapping[str, Position],
    histories: Mapping[str, History],
    events: pd.DataFrame,
    suppressions: pd.DataFrame,
    segment: Segment | None,
    day: BusinessDay,
    run_id: str,
    decided_at: datetime,
    rules: RuleSet | None = None,
) -> Escalation:
    """Each requested account's outcome, and the plan of those that move to the target stage."""
    result = Escalation(request)
    accounts = snapshot.set_index("account_id", drop=False).to_dict("index") if not snapshot.empty else {}
    chosen = segment.select(snapshot, positions) if segment is not None else list(request.account_ids)
    entering: dict[str, Position] = {}
    before: dict[str, str | None] = {}
    for account_id in chosen:
        account = accounts.get(account_id)
        if account is None:
            result.outcomes.append(
                AccountOutcome(account_id, None, request.stage, "not_found", f"not among the accounts of {day.date}")
            )
            continue
        current = positions.get(account_id)
        if current is not None and (current.campaign != campaign.id or current.status == "ended"):
            current = None
        before[account_id] = current.stage if current else None
        refusal = _refusal(request, campaign, account, current, histories.get(account_id))
        if refusal:
            result.outcomes.append(AccountOutcome(account_id, before[account_id], request.stage, "refused", refusal))
            continue
        entering[account_id] = _at_target(request, campaign, account_id, current, day)

    if not entering:
        return _with_refusals(result, campaign, day, run_id, decided_at)
    plan = plan_day(
        snapshot[snapshot["account_id"].isin(list(entering))],
        campaign,
        entering,
        dict(histories),
        events,
        suppressions,
        day,
        run_id,
        decided_at,
        rules,
    )
    settled = {**entering, **{p.account_id: p for p in plan.positions}}
    for account_id, position in settled.items():
        steps = [s for s in plan.steps if s["account_id"] == account_id]
        handoffs = [h for h in plan.handoffs if h["account_id"] == account_id]
        audit = [a for a in plan.audit if a["account_id"] == account_id]
        forbidden = _policy_refusal(campaign, request, steps, handoffs, audit)
        if forbidden:
            result.outcomes.append(AccountOutcome(account_id, before[account_id], request.stage, "refused", forbidden))
            continue
        outcome = "would_escalate" if request.dry_run else "escalated"
        detail = _what_happens(campaign, steps, handoffs, audit)
        result.outcomes.append(AccountOutcome(account_id, before[account_id], request.stage, outcome, detail))
        result.positions.append(position)
        result.plan.steps.extend(steps)
        result.plan.handoffs.extend(handoffs)
        result.plan.audit.append(
            {
                "decided_at": decided_at,
                "run_id": run_id,
                "business_date": day.date,
                "account_id": account_id,
                "step_key": None,
                "actor": "escalation",
                "decision": "escalate",
                "rule_ids": "",
                "reason": f"[{campaign.id}] escalated by {request.requested_by} from "
                f"{before[account_id] or 'outside the ladder'} to {request.stage}: {request.reason}",
            }
        )
        result.plan.audit.extend({**row, "actor": "escalation"} for row in audit)
    return _with_refusals(result, campaign, day, run_id, decided_at)


def _with_refusals(
    result: Escalation, campaign: Campaign, day: BusinessDay, run_id: str, decided_at: datetime
) -> Escalation:
    """The outcomes in account order, and each refusal in the audit trail: the account's timeline shows
    whoever reads it later what was asked, by whom, and why it was not done."""
    request = result.request
    result.outcomes.sort(key=lambda o: o.account_id)
    result.plan.audit.extend(
        {
            "decided_at": decided_at,
            "run_id": run_id,
            "business_date": day.date,
            "account_id": o.account_id,
            "step_key": None,
            "actor": "escalation",
            "decision": "refused",
            "rule_ids": "",
            "reason": f"[{campaign.id}] escalation to {request.stage} by {request.requested_by} refused: "
            f"{o.detail} (asked because: {request.reason})",
        }
        for o in result.outcomes
        if o.outcome == "refused"
    )
    return result


def _refusal(
    request: EscalationRequest,
    campaign: Campaign,
    account: dict[str, Any],
    current: Position | None,
    history: History | None,
) -> str | None:
    """Why the account may not move to the target stage, before the contact policy is asked."""
    flags = str(account.get("flags") or "").split("|")
    if "paid_in_full" in flags:
        return "paid in full: nothing to escalate"
    if account["bucket"] == CURRENT:
        return f"current (DPD {account['dpd']}): nothing to escalate"
    if not campaign.serves(account["bucket"]):
        return f"in bucket {account['bucket']}, which {campaign.id} does not serve"
    if history is not None and history.promises:
        promise = min(history.promises, key=lambda p: p.promised_on)
        amount = money(promise.amount_minor, promise.currency)
        what = (
            f"repayment plan of {amount} in {len(promise.instalments)} instalments (the last by {promise.promised_on})"
            if promise.instalments
            else f"promise to pay {amount} by {promise.promised_on}"
        )
        return f"{what} is open; outreach is paused until it is kept or broken"
    variant = current.variant if current else campaign.variant_for(str(account["account_id"]))
    ladder = [s.id for s in campaign.ladder_for(variant)]
    if request.stage not in ladder:
        return f"{request.stage} is not on the ladder of arm {variant!r} ({', '.join(ladder)})"
    if current is None:
        return None
    if current.status == "paused":
        return f"outreach is paused: {current.status_reason}"
    if current.status == "awaiting_approval":
        return f"{current.stage} awaits a person's approval; answer it in Required Actions first"
    target = ladder.index(request.stage)
    if target == current.stage_index:
        return f"already at {current.stage}"
    if target < current.stage_index:
        return f"already past {request.stage}, at {current.stage}; escalation only moves forward"
    return None


def _at_target(
    request: EscalationRequest, campaign: Campaign, account_id: str, current: Position | None, day: BusinessDay
) -> Position:
    variant = current.variant if current else campaign.variant_for(account_id)
    ladder = [s.id for s in campaign.ladder_for(variant)]
    return Position(
        account_id=account_id,
        campaign=campaign.id,
        variant=variant,
        episode_started_on=current.episode_started_on if current else day.date,
        last_seen_on=day.date,
        stage_index=ladder.index(request.stage),
        stage=request.stage,
        stage_since=day.date,
        status="active",
        status_reason=f"escalated by {request.requested_by}: {request.reason}",
    )


def _policy_refusal(
    campaign: Campaign,
    request: EscalationRequest,
    steps: list[dict[str, Any]],
    handoffs: list[dict[str, Any]],
    audit: list[dict[str, Any]],
) -> str | None:
    """The contact policy's reason when it forbids the whole account (a hold), not just one channel."""
    for step in steps:
        if step["decision"] == "block" and is_account_hold(step["rule_ids"]):
            return f"the contact policy forbids it: {step['reason']}"
    stage = next(s for stages in campaign.ladders().values() for s in stages if s.id == request.stage)
    if stage.needs_approval and not handoffs:
        blocked = [a["reason"] for a in audit if a["decision"] == "block"]
        return f"the contact policy forbids it: {blocked[-1] if blocked else 'no placement could be requested'}"
    return None


def _what_happens(
    campaign: Campaign, steps: list[dict[str, Any]], handoffs: list[dict[str, Any]], audit: list[dict[str, Any]]
) -> str:
    parts = []
    for step in steps:
        if step["status"] == "pending" and step["decision"] == "send":
            parts.append(f"{step['channel']}: goes now")
        elif step["status"] == "pending":
            parts.append(f"{step['channel']}: goes from {step['window_start']:%H:%M} UTC ({step['reason']})")
        else:
            parts.append(f"{step['channel']}: held ({step['status_reason']})")
    for handoff in handoffs:
        target = f"agency {handoff['agency']}" if handoff["agency"] else "legal review"
        parts.append(f"placement with {target} awaits approval in {campaign.dag_id}'s next run")
    if not parts:
        parts.append("nothing can go today: " + "; ".join(a["reason"] for a in audit[-1:]))
    return "; ".join(parts)
