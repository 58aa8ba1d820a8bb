"""The day's plan: accounts x contact history x campaign x policy -> steps, each with its reason.

A pure function: it reads nothing and writes nothing, so the plan of any past
business date can be recomputed from the same inputs and every step explained.
No step is planned to go without a SEND (now or later today) from the policy engine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from outreach.buckets import CURRENT
from outreach.campaigns import Campaign, Stage
from outreach.policy import ContactRequest, Decision, RuleSet, decide
from outreach.policy import facts as policy_facts
from outreach.template_checks import traits_for

ADDRESS_FIELDS: dict[str, tuple[str, ...]] = {
    "sms": ("mobile_phone",),
    "voice": ("mobile_phone", "home_phone"),
    "voicemail": ("mobile_phone", "home_phone"),
    "email": ("email",),
    "letter": (),
    "agent_queue": (),
}


@dataclass(frozen=True)
class BusinessDay:
    """A business date and the UTC instants it runs between, in the business timezone."""

    date: date
    start: datetime
    end: datetime


@dataclass
class Plan:
    steps: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


def step_key(account_id: str, campaign: str, stage: str, channel: str, business_date: date) -> str:
    """The idempotency key: the same step of the same day always has the same key."""
    return f"{account_id}|{campaign}|{stage}|{channel}|{business_date.isoformat()}"


def choose_address(account: dict[str, Any], channel: str) -> str | None:
    for name in ADDRESS_FIELDS[channel]:
        if account.get(name):
            return str(account[name])
    return None


def group_records(frame: pd.DataFrame, key: str = "account_id") -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not frame.empty:
        for row in frame.to_dict("records"):
            grouped[row[key]].append(row)
    return grouped


def contact_request(
    account: dict[str, Any],
    channel: str,
    template: str,
    address: str | None,
    at: datetime,
    events: list[dict[str, Any]],
    suppressions: list[dict[str, Any]],
) -> ContactRequest:
    """The policy question for one step of one account."""
    return ContactRequest(
        account=policy_facts.account_facts(account),
        channel=channel,
        address=address,
        delivery_mode="live_agent" if channel == "agent_queue" else "automated",
        at=at,
        template=traits_for(channel, template, account.get("locale") or "en"),
        history=policy_facts.contact_events(events),
        suppressions=policy_facts.suppressions(suppressions),
    )


def step_status(decision: Decision, day: BusinessDay) -> tuple[str, datetime | None, str | None]:
    """(status, window start, reason it is not going) for a decision made on a business day."""
    if decision.decision == "send":
        return "pending", day.start, None
    if decision.decision == "defer" and decision.not_before and decision.not_before < day.end:
        return "pending", decision.not_before, None
    if decision.decision == "defer":
        return (
            "held",
            None,
            f"not today: {decision.reason_text()} (not before {decision.not_before:%Y-%m-%d %H:%M} UTC)",
        )
    return "held", None, decision.reason_text()


def plan_day(
    snapshot: pd.DataFrame,
    campaign: Campaign,
    stage_history: pd.DataFrame,
    events: pd.DataFrame,
    suppressions: pd.DataFrame,
    day: BusinessDay,
    run_id: str,
    planned_at: datetime,
    rules: RuleSet | None = None,
) -> Plan:
    """Steps due on ``day`` for every account in ``snapshot``.

    ``stage_history``: earlier attempts (account_id, stage, business_date);
    ``events``: contact events in the policy engine's shape; ``suppressions``: active ones.
    """
    plan = Plan()
    stages_by_account = group_records(stage_history)
    events_by_account = group_records(events)
    suppressions_by_account = group_records(suppressions)

    def audit(account_id: str, decision: str, reason: str, rules: tuple[str, ...] = (), key: str | None = None) -> None:
        plan.audit.append(
            {
                "decided_at": planned_at,
                "run_id": run_id,
                "business_date": day.date,
                "account_id": account_id,
                "step_key": key,
                "actor": "planner",
                "decision": decision,
                "rule_ids": ",".join(rules),
                "reason": reason,
            }
        )

    for account in snapshot.to_dict("records"):
        account_id = account["account_id"]
        if account["bucket"] == CURRENT:
            audit(account_id, "no_contact", f"account is current (DPD {account['dpd']}); it leaves outreach")
            continue
        if "paid_in_full" in str(account.get("flags") or "").split("|"):
            audit(account_id, "no_contact", "account is paid in full; it leaves outreach", ("acct.paid_in_full",))
            continue
        ladder = campaign.ladder_for(account["bucket"])
        if ladder is None:
            audit(account_id, "no_contact", f"campaign {campaign.id} has no ladder for bucket {account['bucket']}")
            continue

        day_in_ladder = int(account["dpd"]) - ladder.first_dpd + 1
        due = [stage for stage in ladder.stages if stage.day <= day_in_ladder]
        if not due:
            first = ladder.stages[0].day
            audit(
                account_id, "wait", f"day {day_in_ladder} of the {account['bucket']} ladder; first stage on day {first}"
            )
            continue
        # A new delinquency episode starts the ladder afresh: only attempts since it began count.
        episode_start = day.date - timedelta(days=int(account["dpd"]) - 1)
        done = {h["stage"] for h in stages_by_account.get(account_id, []) if h["business_date"] >= episode_start}
        latest_day = max(stage.day for stage in due)
        todo: list[Stage] = [s for s in due if s.day == latest_day and s.id not in done]
        if not todo:
            following = next((s for s in ladder.stages if s.day > day_in_ladder), None)
            nxt = f"next stage {following.id} on day {following.day}" if following else "ladder complete"
            audit(account_id, "wait", f"day {day_in_ladder} of the ladder: stage(s) due already done; {nxt}")
            continue

        for stage in todo:
            address = choose_address(account, stage.channel)
            request = contact_request(
                account,
                stage.channel,
                stage.template,
                address,
                day.start,
                events_by_account.get(account_id, []),
                suppressions_by_account.get(account_id, []),
            )
            decision = decide(request, rules)
            status, window_start, held_reason = step_status(decision, day)
            key = step_key(account_id, campaign.id, stage.id, stage.channel, day.date)
            plan.steps.append(
                {
                    "step_key": key,
                    "run_id": run_id,
                    "business_date": day.date,
                    "account_id": account_id,
                    "campaign": campaign.id,
                    "stage": stage.id,
                    "channel": stage.channel,
                    "template": stage.template,
                    "contact_address": address,
                    "decision": decision.decision,
                    "rule_ids": ",".join(decision.rules),
                    "reason": decision.reason_text(),
                    "window_start": window_start,
                    "window_end": decision.window_end,
                    "status": status,
                    "status_reason": held_reason,
                    "planned_at": planned_at,
                }
            )
            reason = f"{stage.id} ({stage.channel}): {decision.reason_text()}"
            if decision.not_before:
                reason += f" (not before {decision.not_before:%Y-%m-%d %H:%M} UTC)"
            audit(account_id, decision.decision, reason, decision.rules, key)
    return plan
