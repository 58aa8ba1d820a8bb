"""Reactions to what came back: new ledger events become today's extra steps, planned with reasons.

- A permanent delivery failure (undelivered text, bounced or dropped email) uses the
  stage's fallback channel the same day, if the ladder has not used it yet.
- An opt-out reply (STOP and its kin) gets one confirmation text; the contact policy
  allows it only within minutes of the opt-out, and only once.
- A keypress during an automated call: 1 sends the payment link by text, 2 puts the
  account in the agent queue.

Payments need nothing here: recording one already stopped the account's pending steps.
Each reaction is a planned step like any other (step key, policy decision, reason), sent
by the events DAG; every event is marked reacted, so a re-run reacts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pandas as pd

from outreach.campaigns import Campaign, Stage
from outreach.decision_classes import DecisionClasses
from outreach.ladder import Position
from outreach.parties import DEBTOR, as_seen_by, spoken
from outreach.planner import (
    ActiveSuppressions,
    BusinessDay,
    ContactHistories,
    choose_address,
    planned_step,
    reachable_channels,
)
from outreach.policy import RuleSet

# Delivery outcomes that say the contact point cannot be reached, not that it was busy.
PERMANENT_FAILURES = frozenset({"undelivered", "bounce", "dropped"})
CONFIRMATION_TEMPLATE = "opt_out_confirmation"
KEYPRESS_REACTIONS = {"1": ("sms", "payment_link"), "2": ("agent_queue", "agent_callback")}
ON_REQUEST_STAGE = "on-request"
OPT_OUT_CONFIRMATION_STAGE = "opt-out-confirmation"


@dataclass
class Reactions:
    steps: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Context:
    """What every reaction of one run reads."""

    campaigns: Mapping[str, Campaign]
    accounts: Mapping[str, dict[str, Any]]
    steps: Mapping[str, dict[str, Any]]
    positions: Mapping[str, Position]
    days: Mapping[str, BusinessDay]  # by campaign
    events: pd.DataFrame
    suppressions: pd.DataFrame
    now: datetime
    run_id: str
    rules: RuleSet | None


def plan_reactions(new_events: list[dict[str, Any]], context: Context) -> Reactions:
    """The steps today's new events call for, each with the reason it was or was not planned."""
    result = Reactions()
    histories_by_contact = ContactHistories(context.events)
    active_suppressions = ActiveSuppressions(context.suppressions)

    def plan(
        account: dict[str, Any],
        campaign: Campaign,
        stage: Stage | None,
        channel: str,
        template: str,
        address: str | None,
    ) -> dict[str, Any]:
        day = context.days[campaign.id]
        stage_id = (
            stage.id
            if stage
            else (ON_REQUEST_STAGE if template != CONFIRMATION_TEMPLATE else OPT_OUT_CONFIRMATION_STAGE)
        )
        row, _ = planned_step(
            account,
            campaign,
            stage or Stage(id=stage_id, channels=(channel,), template=template),
            channel,
            address,
            context.now,
            histories_by_contact.for_contact(account["account_id"], address),
            active_suppressions.for_contact(account["account_id"], address),
            day,
            context.run_id,
            context.now,
            DecisionClasses(context.rules),
        )
        result.steps.append(row)
        return row

    def note(account_id: str, campaign: str, decision: str, reason: str, key: str | None = None) -> None:
        day = context.days.get(campaign)
        result.audit.append(
            {
                "decided_at": context.now,
                "run_id": context.run_id,
                "business_date": day.date if day else context.now.date(),
                "account_id": account_id,
                "step_key": key,
                "actor": "events",
                "decision": decision,
                "rule_ids": "",
                "reason": f"[{campaign}] {reason}",
            }
        )

    for event in new_events:
        kind = event["kind"]
        if kind == "delivery" and event["outcome"] in PERMANENT_FAILURES:
            _fallback(event, context, result, plan, note)
        elif kind == "inbound" and (event.get("payload") or {}).get("confirm"):
            _confirm_opt_out(event, context, result, plan, note)
        elif kind == "keypress" and event["outcome"] in KEYPRESS_REACTIONS:
            _keypress(event, context, result, plan, note)
        else:
            continue
    return result


def _fallback(event, context: Context, result: Reactions, plan, note) -> None:
    step = context.steps.get(event["step_key"] or "")
    if step is None:
        return
    account_id, campaign_id = step["account_id"], step["campaign"]
    campaign = context.campaigns.get(campaign_id)
    position = result.positions.get(account_id) or context.positions.get(account_id)
    account = context.accounts.get(account_id)
    failure = f"{step['stage']} ({step['channel']}) {event['outcome']}"
    if campaign is None or account is None or position is None or position.campaign != campaign_id:
        return
    stage = next((s for s in campaign.ladder_for(position.variant) if s.id == step["stage"]), None)
    if stage is None or position.stage != stage.id or not stage.fallback or stage.fallback == step["channel"]:
        return
    if position.fallback_used:
        note(account_id, campaign_id, "wait", f"{failure}; the fallback was used already, the next run moves on")
        return
    if context.days[campaign_id].date != step["business_date"]:
        note(account_id, campaign_id, "wait", f"{failure} on an earlier day; the next run's plan applies the fallback")
        return
    # The fallback reaches the stage's own recipient, at their contact point.
    addressed = as_seen_by(account, stage.recipient)
    address = choose_address(addressed, stage.fallback)
    if stage.fallback not in reachable_channels(addressed):
        note(account_id, campaign_id, "wait", f"{failure}; no {stage.fallback} contact point for the fallback")
        return
    row = plan(addressed, campaign, stage, stage.fallback, stage.template or "", address)
    note(
        account_id,
        campaign_id,
        "fallback",
        f"{failure}: falling back to {stage.fallback} the same day ({row['decision']}: {row['reason']})",
        row["step_key"],
    )
    result.positions[account_id] = replace(position, fallback_used=True)
    result.counts["fallback"] += 1


def _campaign_of(account_id: str, context: Context) -> Campaign | None:
    position = context.positions.get(account_id)
    if position is not None and position.campaign in context.campaigns:
        return context.campaigns[position.campaign]
    account = context.accounts.get(account_id)
    if account is None:
        return None
    return next((c for c in context.campaigns.values() if c.serves(account["bucket"])), None)


def _confirm_opt_out(event, context: Context, result: Reactions, plan, note) -> None:
    account = context.accounts.get(event["account_id"] or "")
    campaign = _campaign_of(event["account_id"] or "", context)
    if account is None or campaign is None or event["channel"] != "sms" or not event["address"]:
        return
    row = plan(account, campaign, None, "sms", CONFIRMATION_TEMPLATE, event["address"])
    intent = (event.get("payload") or {}).get("intent")
    note(
        account["account_id"],
        campaign.id,
        "confirm",
        f"reply classified as {intent}: one confirmation text ({row['decision']}: {row['reason']})",
        row["step_key"],
    )
    result.counts["opt_out_confirmation"] += 1


def _keypress(event, context: Context, result: Reactions, plan, note) -> None:
    step = context.steps.get(event["step_key"] or "")
    account = context.accounts.get(event["account_id"] or "")
    if step is None or account is None or step["campaign"] not in context.campaigns:
        return
    campaign = context.campaigns[step["campaign"]]
    channel, template = KEYPRESS_REACTIONS[event["outcome"]]
    recipient = step.get("recipient")
    if isinstance(recipient, str) and recipient != DEBTOR:
        # A payment link or an agent's call back is the debtor's to ask for.
        note(
            account["account_id"],
            campaign.id,
            "wait",
            f"the {spoken(recipient)} pressed {event['outcome']} on {step['stage']}: left to a person",
        )
        return
    row = plan(account, campaign, None, channel, template, choose_address(account, channel))
    wanted = "the payment link by text" if channel == "sms" else "a call back from an agent"
    note(
        account["account_id"],
        campaign.id,
        "request",
        f"pressed {event['outcome']} during the call: {wanted} ({row['decision']}: {row['reason']})",
        row["step_key"],
    )
    result.counts[f"keypress_{event['outcome']}"] += 1
