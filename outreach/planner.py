"""The day's plan: accounts x contact history x campaign x policy -> steps, each with its reason.

A pure function: it reads nothing and writes nothing, so the plan of any past
business date can be recomputed from the same inputs and every step explained.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from outreach.buckets import CURRENT
from outreach.campaigns import Campaign, Stage
from outreach.policy import ContactRequest, decide

ADDRESS_FIELDS: dict[str, tuple[str, ...]] = {
    "sms": ("mobile_phone",),
    "voice": ("mobile_phone", "home_phone"),
    "email": ("email",),
    "agent_queue": (),
}


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


def _records(frame: pd.DataFrame, key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not frame.empty:
        for row in frame.to_dict("records"):
            grouped[row[key]].append(row)
    return grouped


def plan_day(
    snapshot: pd.DataFrame,
    campaign: Campaign,
    history: pd.DataFrame,
    suppressions: pd.DataFrame,
    business_date: date,
    run_id: str,
    planned_at: datetime,
) -> Plan:
    """Steps due today for every account in ``snapshot``.

    ``history`` has one row per earlier attempt (account_id, stage, channel,
    business_date); ``suppressions`` the active suppressions.
    """
    plan = Plan()
    history_by_account = _records(history, "account_id")
    suppressions_by_account = _records(suppressions, "account_id")

    def audit(account_id: str, decision: str, reason: str, rules: tuple[str, ...] = (), key: str | None = None) -> None:
        plan.audit.append(
            {
                "decided_at": planned_at,
                "run_id": run_id,
                "business_date": business_date,
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
        ladder = campaign.ladder_for(account["bucket"])
        if ladder is None:
            audit(account_id, "no_contact", f"campaign {campaign.id} has no ladder for bucket {account['bucket']}")
            continue

        day = int(account["dpd"]) - ladder.first_dpd + 1
        due = [stage for stage in ladder.stages if stage.day <= day]
        if not due:
            first = ladder.stages[0].day
            audit(account_id, "wait", f"day {day} of the {account['bucket']} ladder; first stage on day {first}")
            continue
        # A new delinquency episode starts the ladder afresh: only attempts since it began count.
        episode_start = business_date - timedelta(days=int(account["dpd"]) - 1)
        account_history = history_by_account.get(account_id, [])
        done = {h["stage"]: h["business_date"] for h in account_history if h["business_date"] >= episode_start}
        latest_day = max(stage.day for stage in due)
        todo: list[Stage] = [s for s in due if s.day == latest_day and s.id not in done]
        if not todo:
            following = next((s for s in ladder.stages if s.day > day), None)
            nxt = f"next stage {following.id} on day {following.day}" if following else "ladder complete"
            audit(account_id, "wait", f"day {day} of the ladder: stage(s) due already done; {nxt}")
            continue

        for stage in todo:
            address = choose_address(account, stage.channel)
            decision = decide(
                ContactRequest(account, stage.channel, address, business_date),
                history=account_history,
                suppressions=suppressions_by_account.get(account_id, []),
            )
            key = step_key(account_id, campaign.id, stage.id, stage.channel, business_date)
            plan.steps.append(
                {
                    "step_key": key,
                    "run_id": run_id,
                    "business_date": business_date,
                    "account_id": account_id,
                    "campaign": campaign.id,
                    "stage": stage.id,
                    "channel": stage.channel,
                    "template": stage.template,
                    "contact_address": address,
                    "decision": decision.outcome,
                    "rule_ids": ",".join(decision.rule_ids),
                    "reason": decision.reason,
                    "window_start": decision.window_start,
                    "window_end": decision.window_end,
                    "status": "pending" if decision.outcome == "send" else "held",
                    "status_reason": None if decision.outcome == "send" else decision.reason,
                    "planned_at": planned_at,
                }
            )
            reason = f"{stage.id} ({stage.channel}): {decision.reason}"
            audit(account_id, decision.outcome, reason, decision.rule_ids, key)
    return plan
