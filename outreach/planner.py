"""The day's plan for one campaign: accounts x ladder position x history x policy -> steps, with reasons.

A pure function: it reads nothing and writes nothing, so the plan of any past
business date can be recomputed from the same inputs and every step explained.
The ladder (``outreach.ladder``) says which stage and channel each account is
due; the policy engine says whether and when that contact may happen. No step
is planned to go without a SEND (now or later today) from the engine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import Any

import pandas as pd

from outreach.buckets import CURRENT
from outreach.campaigns import Campaign, Stage
from outreach.decision_classes import DecisionClasses
from outreach.frames import rows_of
from outreach.ladder import History, Move, Position, is_account_hold, move
from outreach.parties import DEBTOR, as_seen_by, parties_named, recipient_of
from outreach.policy import Decision, RuleSet

ADDRESS_FIELDS: dict[str, tuple[str, ...]] = {
    "sms": ("mobile_phone",),
    "voice": ("mobile_phone", "home_phone"),
    "voicemail": ("mobile_phone", "home_phone"),
    "email": ("email",),
    "letter": (),
    "agent_queue": (),
}
# Another party is reached only through what the book holds for them: an agent calls the party's own
# number (the debtor's is on the account for any agent to find), and a letter needs the party's name
# (the print house merges their postal address by account and recipient).
PARTY_ADDRESS_FIELDS: dict[str, tuple[str, ...]] = {**ADDRESS_FIELDS, "agent_queue": ("mobile_phone",)}
PARTY_NEEDS: dict[str, tuple[str, ...]] = {**PARTY_ADDRESS_FIELDS, "letter": ("name",)}


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
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    promises: list[dict[str, Any]] = field(default_factory=list)
    # Each account's new position, by account: a later move of the same account replaces the earlier one.
    moves: dict[str, Position] = field(default_factory=dict)
    # How the policy decisions were made: shared by a class of steps, or asked one by one.
    decided: dict[str, int] = field(default_factory=dict)
    # Accounts whose position changed today only in being seen again (``last_seen_on``): most of a
    # day's book, stored as that one change rather than as a new position each.
    seen_again: set[str] = field(default_factory=set)

    @property
    def positions(self) -> list[Position]:
        return list(self.moves.values())

    @property
    def changed_positions(self) -> list[Position]:
        """The new positions that changed more than the day they were last seen."""
        return [p for p in self.moves.values() if p.account_id not in self.seen_again]

    def move_to(self, position: Position, seen_only: bool = False) -> None:
        self.moves.pop(position.account_id, None)
        self.moves[position.account_id] = position
        if seen_only:
            self.seen_again.add(position.account_id)
        else:
            self.seen_again.discard(position.account_id)


def only_seen_again(before: Position, after: Position) -> bool:
    """Whether ``after`` is ``before`` seen on a later day, and nothing else (one dict compared, not two
    positions built: it is asked of most of the book every day)."""
    return {**after.__dict__, "last_seen_on": before.last_seen_on} == before.__dict__


def step_key(account_id: str, campaign: str, stage: str, channel: str, business_date: date) -> str:
    """The idempotency key: the same step of the same day always has the same key."""
    return f"{account_id}|{campaign}|{stage}|{channel}|{business_date.isoformat()}"


def choose_address(account: Mapping[str, Any], channel: str) -> str | None:
    fields = ADDRESS_FIELDS if recipient_of(account) == DEBTOR else PARTY_ADDRESS_FIELDS
    for name in fields[channel]:
        if account.get(name):
            return str(account[name])
    return None


def group_records(frame: pd.DataFrame, key: str = "account_id") -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not frame.empty:
        for row in rows_of(frame):
            grouped[row[key]].append(row)
    return grouped


class ByAccountAndAddress:
    """Rows found by account, plus the rows about the contact's address kept for other accounts."""

    def __init__(self, frame: pd.DataFrame, about_an_address: pd.Series | None = None):
        self._by_account = group_records(frame)
        shared = frame[about_an_address] if not frame.empty and about_an_address is not None else frame.iloc[0:0]
        self._by_address = group_records(shared, "address")

    def for_contact(self, account_id: str, address: str | None) -> list[dict[str, Any]]:
        own = self._by_account.get(account_id, [])
        if not address:
            return own
        return own + [row for row in self._by_address.get(address, []) if row["account_id"] != account_id]


class ContactHistories(ByAccountAndAddress):
    """Each account's contact events, plus the Reassigned Numbers Database's answers about the number
    in question whichever account they were asked for: an answer is about a number, not an account."""

    def __init__(self, frame: pd.DataFrame):
        super().__init__(frame, frame["kind"] == "number_check" if not frame.empty else None)


class ActiveSuppressions(ByAccountAndAddress):
    """Active suppressions, found by account and by the address they name.

    An opt-out is about a number or an inbox, not an account: a STOP from a number holds for
    every account that lists it, and for accounts the ledger only learns of later.
    """

    def __init__(self, frame: pd.DataFrame):
        super().__init__(frame, frame["address"].notna() if not frame.empty else None)


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
    positions: dict[str, Position],
    histories: dict[str, History],
    events: pd.DataFrame,
    suppressions: pd.DataFrame,
    day: BusinessDay,
    run_id: str,
    planned_at: datetime,
    rules: RuleSet | None = None,
    share_decisions: bool = True,
) -> Plan:
    """Steps, hand-off requests and ladder moves on ``day`` for the accounts ``campaign`` serves.

    ``positions``: each account's ladder position before today; ``histories``: what
    happened to it (``outreach.ladder.History``); ``events``: contact events in the
    policy engine's shape; ``suppressions``: active ones. ``share_decisions=False`` asks the
    policy engine about every step on its own (``outreach.decision_classes``).
    """
    plan = Plan()
    decisions = DecisionClasses(rules, share=share_decisions)
    histories_by_contact = ContactHistories(events)
    active_suppressions = ActiveSuppressions(suppressions)
    # The bucket table is read once for the day, not once per account.
    served = campaign.bucket_names
    # Only the parties some stage addresses are looked for on each account.
    parties_addressed = sorted(campaign.parties())

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
                "reason": f"[{campaign.id}] {reason}",
            }
        )

    for account in rows_of(snapshot):
        account_id = account["account_id"]
        position = positions.get(account_id)
        ours = account["bucket"] in served
        if not ours and not (position is not None and position.campaign == campaign.id):
            continue
        if not ours and account["bucket"] != CURRENT and "paid_in_full" not in str(account.get("flags") or ""):
            continue  # the campaign serving its new bucket takes it over
        history = histories.get(account_id) or History()
        history.reachable = reachable_channels(account)
        history.reachable_by = {
            party: reachable_channels(as_seen_by(account, party)) for party in parties_named(account, parties_addressed)
        }
        moved = move(campaign, account, position, history, day.date)
        for decision, reason in moved.notes:
            audit(account_id, decision, reason)
        if moved.position is not None and moved.position != position:
            plan.move_to(moved.position, seen_only=position is not None and only_seen_again(position, moved.position))
        for promise_id, status in moved.promises:
            plan.promises.append({"id": promise_id, "status": status, "resolved_on": day.date})
        if not moved.execute:
            if not moved.notes and moved.position is not None:
                audit(account_id, "wait", moved.position.status_reason)
            continue

        blocked: list[str] = []
        on_hold = False
        for stage, channel, is_fallback in moved.execute:
            key = step_key(account_id, campaign.id, stage.id, channel, day.date)
            addressed = as_seen_by(account, stage.recipient)
            address = choose_address(addressed, channel) if channel in ADDRESS_FIELDS else None
            decision, _ = decisions.decide(
                addressed,
                # A placement is a written hand-off: the holds that stop a letter stop it too.
                "letter" if stage.needs_approval else channel,
                stage.template or "",
                address,
                day.start,
                histories_by_contact.for_contact(account_id, address),
                active_suppressions.for_contact(account_id, address),
            )
            if stage.needs_approval:
                why = plan_placement(plan, campaign, account, stage, decision, key, day, run_id, planned_at, moved)
                audit(account_id, "block" if decision.decision == "block" else "request", why, decision.rules, key)
                continue
            plan.steps.append(
                step_row(account, campaign, stage, channel, address, decision, key, day, run_id, planned_at)
            )
            if decision.decision == "block" and is_account_hold(decision.rules):
                on_hold = True
            elif decision.decision == "block" and not is_fallback:
                blocked.append(channel)
            reason = f"{stage.id} ({channel}{', fallback' if is_fallback else ''}): {decision.reason_text()}"
            if decision.not_before:
                reason += f" (not before {decision.not_before:%Y-%m-%d %H:%M} UTC)"
            audit(account_id, decision.decision, reason, decision.rules, key)

        stage = moved.execute[0][0]
        planned_channels = [c for s, c, fb in moved.execute if not fb]
        position = moved.position
        if (
            not on_hold
            and stage.fallback
            and position is not None
            and not position.fallback_used
            and planned_channels
            and set(blocked) == set(planned_channels)
            and stage.fallback in history.reachable_for(stage.recipient)
        ):
            # Every channel of the stage is ruled out for good: its fallback goes today.
            channel = stage.fallback
            addressed = as_seen_by(account, stage.recipient)
            address = choose_address(addressed, channel)
            row, decision = planned_step(
                addressed,
                campaign,
                stage,
                channel,
                address,
                day.start,
                histories_by_contact.for_contact(account_id, address),
                active_suppressions.for_contact(account_id, address),
                day,
                run_id,
                planned_at,
                decisions,
            )
            plan.steps.append(row)
            key = row["step_key"]
            audit(account_id, "fallback", f"{stage.id}: {', '.join(blocked)} blocked; falling back to {channel}")
            audit(
                account_id,
                decision.decision,
                f"{stage.id} ({channel}, fallback): {decision.reason_text()}",
                decision.rules,
                key,
            )
            updated = replace(position, fallback_used=True)
            plan.move_to(updated)
    plan.decided = decisions.counts()
    return plan


# Every field a channel's address can come from.
CONTACT_FIELDS = tuple(dict.fromkeys(name for fields in ADDRESS_FIELDS.values() for name in fields))


def reachable_channels(account: Mapping[str, Any]) -> frozenset[str]:
    """Channels with a contact point on file: the debtor's hand-offs to people always have one, another
    party's need their number (an agent's call) or their name (a letter)."""
    present = frozenset(name for name in CONTACT_FIELDS if account.get(name))
    if recipient_of(account) == DEBTOR:
        return _reachable_with(present)
    return _party_reachable_with(present | {"name"} if account.get("name") else present)


@cache
def _reachable_with(present: frozenset[str]) -> frozenset[str]:
    return frozenset(
        channel for channel, fields in ADDRESS_FIELDS.items() if not fields or any(f in present for f in fields)
    ) | {"agency", "legal"}


@cache
def _party_reachable_with(present: frozenset[str]) -> frozenset[str]:
    return frozenset(channel for channel, fields in PARTY_NEEDS.items() if any(f in present for f in fields))


def planned_step(
    account: dict[str, Any],
    campaign: Campaign,
    stage: Stage,
    channel: str,
    address: str | None,
    at: datetime,
    events: list[dict[str, Any]],
    suppressions: list[dict[str, Any]],
    day: BusinessDay,
    run_id: str,
    planned_at: datetime,
    decisions: DecisionClasses,
) -> tuple[dict[str, Any], Decision]:
    """One step of a stage for one account, decided by the contact policy at ``at``: its row and the decision."""
    key = step_key(account["account_id"], campaign.id, stage.id, channel, day.date)
    decision, _ = decisions.decide(account, channel, stage.template or "", address, at, events, suppressions)
    return step_row(account, campaign, stage, channel, address, decision, key, day, run_id, planned_at), decision


def step_row(
    account: dict[str, Any],
    campaign: Campaign,
    stage: Stage,
    channel: str,
    address: str | None,
    decision: Decision,
    key: str,
    day: BusinessDay,
    run_id: str,
    planned_at: datetime,
) -> dict[str, Any]:
    status, window_start, held_reason = step_status(decision, day)
    return {
        "step_key": key,
        "run_id": run_id,
        "business_date": day.date,
        "account_id": account["account_id"],
        "campaign": campaign.id,
        "stage": stage.id,
        "channel": channel,
        "template": stage.template or "",
        "contact_address": address,
        "recipient": stage.recipient if stage.recipient != DEBTOR else None,
        "decision": decision.decision,
        "rule_ids": ",".join(decision.rules),
        "reason": decision.reason_text(),
        "window_start": window_start,
        "window_end": decision.window_end,
        "status": status,
        "status_reason": held_reason,
        "planned_at": planned_at,
    }


def plan_placement(
    plan: Plan,
    campaign: Campaign,
    account: dict[str, Any],
    stage: Stage,
    decision: Decision,
    key: str,
    day: BusinessDay,
    run_id: str,
    planned_at: datetime,
    moved: Move,
) -> str:
    """Ask a person to approve an agency or legal placement, unless a hold forbids it outright."""
    target = f"agency {stage.agency}" if stage.agency else "legal review"
    if decision.decision == "block":
        reason = f"{stage.id}: placement with {target} not requested: {decision.reason_text()}"
        if moved.position is not None:
            held = replace(moved.position, status="active", status_reason=reason)
            plan.move_to(held)
        return reason
    plan.handoffs.append(
        {
            "step_key": key,
            "run_id": run_id,
            "business_date": day.date,
            "account_id": account["account_id"],
            "campaign": campaign.id,
            "stage": stage.id,
            "kind": stage.channel,
            "agency": stage.agency,
            "reason": f"DPD {account['dpd']}, {account['bucket']}, balance {account['currency']} "
            f"{int(account['balance_due_minor']) / 100:,.2f}; {moved.position.status_reason if moved.position else ''}",
            "status": "awaiting_approval",
            "created_at": planned_at,
        }
    )
    return f"{stage.id}: placement with {target} awaits a person's approval"
