"""Where an account stands on its campaign's ladder, and where it goes today.

A pure state machine. Each business day, for each account a campaign serves,
``move`` takes yesterday's position and what happened since (the stage's
contacts and how they went, replies, payments, promises, approvals) and
returns today's position, what to do today, and a reason for every change,
so ``outreach explain`` can say why an account is where it is.

Rules, in the order they apply:

* a paid or current account leaves the ladder;
* a new delinquency episode (the account's oldest unpaid due date falls after
  the last day it was seen overdue, so it was cured in between) starts at the
  first stage; a partial payment is not a cure and never moves the ladder;
* an open promise to pay pauses everything until its date (plus grace); kept,
  it ends the episode; broken, it escalates to the next stage at once; a
  repayment plan is a promise in instalments: payments are applied to them in
  order, each instalment holds the ladder until its date (plus grace), a
  missed one escalates like a broken promise and the last one paid ends it;
* a stage whose contact points all failed permanently uses its fallback
  channel once, then gives way to the next stage;
* otherwise a stage advances ``wait_days`` after it went out, unless what
  ``advance_on`` watches for happened since: a payment (``no_payment``,
  ``broken_promise``) or a response (``no_response``) restarts the wait, and
  ``undelivered`` advances as soon as delivery fails;
* placements with an agency or legal wait for a person's approval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from outreach.accounts.schema import CURRENCY_EXPONENT
from outreach.buckets import CURRENT
from outreach.campaigns import Campaign, Stage
from outreach.parties import spoken
from outreach.repayment_plans import Instalment

# What a provider reported when a contact point is unusable for good.
FAILED_ATTEMPTS = frozenset({"failed", "undelivered", "bounced", "dropped"})
# An episode that ended (a kept promise) while the source still shows the account overdue:
# the payment may not have reached the source yet, so wait this long before starting again.
RESTART_AFTER_ENDED = timedelta(days=7)
# Holds on the whole account (not on one channel): the ladder waits where it is, it
# neither falls back nor moves on, until the hold is lifted.
ACCOUNT_HOLD_RULES = frozenset(
    {
        "bk.automatic_stay",
        "acct.deceased",
        "acct.fraud",
        "acct.legal_hold",
        "acct.paid_in_full",
        "regf.cease",
        "regf.dispute_hold",
        "regf.attorney",
    }
)
# Attempts whose outcome is not known yet.
IN_FLIGHT_ATTEMPTS = frozenset({"claimed", "unknown"})


@dataclass(frozen=True)
class Position:
    account_id: str
    campaign: str
    variant: str
    episode_started_on: date
    last_seen_on: date
    stage_index: int
    stage: str
    stage_since: date
    status: str  # active | paused | awaiting_approval | complete | ended
    status_reason: str
    fallback_used: bool = False

    def as_row(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class StepOutcome:
    """One planned step of the current stage and what became of it."""

    stage: str
    channel: str
    business_date: date
    status: str  # planned step status: pending | sent | failed | held | expired | deferred
    decision: str  # the policy engine's answer: send | defer | block | review
    attempt: str | None = None  # attempt status, when it reached a provider
    reason: str | None = None
    rules: str = ""  # the policy rules behind the decision, comma-separated

    @property
    def on_hold(self) -> bool:
        return self.decision == "block" and is_account_hold(self.rules)


def is_account_hold(rule_ids: str | Sequence[str]) -> bool:
    ids = rule_ids.split(",") if isinstance(rule_ids, str) else rule_ids
    return any(rule in ACCOUNT_HOLD_RULES for rule in ids)


@dataclass(frozen=True)
class Handoff:
    stage: str
    kind: str
    status: str  # open | awaiting_approval | approved | rejected | timed_out | placed | done
    business_date: date
    decided_by: str | None = None
    decided_at: Any = None
    decision_note: str | None = None


@dataclass(frozen=True)
class Promise:
    id: int
    promised_on: date
    amount_minor: int
    recorded_on: date
    currency: str = "USD"
    # A repayment plan: its instalments in order (``promised_on`` is the last one's date,
    # ``amount_minor`` their total); empty for a promise to pay once.
    instalments: tuple[Instalment, ...] = ()


EVERY_CHANNEL = frozenset({"sms", "email", "voice", "agent_queue", "letter", "agency", "legal"})


@dataclass
class History:
    """What happened to one account, as the ledger recorded it before today."""

    steps: Sequence[StepOutcome] = ()
    handoffs: Sequence[Handoff] = ()
    responses: Sequence[date] = ()
    payments: Sequence[tuple[date, int]] = ()
    promises: Sequence[Promise] = ()
    reachable: frozenset[str] = EVERY_CHANNEL
    # The channels that reach each other party the account names (a stage's ``recipient``).
    reachable_by: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def reachable_for(self, recipient: str) -> frozenset[str]:
        return self.reachable if recipient == "debtor" else self.reachable_by.get(recipient, frozenset())


@dataclass
class Move:
    position: Position | None
    # (stage, channel, is_fallback) to carry out today.
    execute: list[tuple[Stage, str, bool]] = field(default_factory=list)
    # (decision, reason) for the audit trail, in the order they happened.
    notes: list[tuple[str, str]] = field(default_factory=list)
    # (promise id, new status) for promises settled today.
    promises: list[tuple[int, str]] = field(default_factory=list)

    def note(self, decision: str, reason: str) -> None:
        self.notes.append((decision, reason))


def money(amount_minor: int, currency: str) -> str:
    """An amount in minor units as its currency writes it: USD 12.50, JPY 1,250."""
    exponent = CURRENCY_EXPONENT.get(currency, 2)
    return f"{currency} {Decimal(int(amount_minor)).scaleb(-exponent):,.{exponent}f}"


def move(campaign: Campaign, account: dict[str, Any], position: Position | None, history: History, today: date) -> Move:
    """Today's position and work for one account of ``campaign``."""
    account_id = str(account["account_id"])
    flags = str(account.get("flags") or "").split("|")
    if account["bucket"] == CURRENT or "paid_in_full" in flags:
        why = "paid in full" if "paid_in_full" in flags else f"current (DPD {account['dpd']})"
        result = Move(None)
        if position is not None and position.status != "ended":
            result.position = replace(position, status="ended", status_reason=f"account {why}", last_seen_on=today)
            result.note("end", f"episode over: account {why}; the ladder stops")
        return result

    result = Move(position)
    start = _episode_start(campaign, account, position, today)
    if start is not None:
        variant = campaign.variant_for(account_id)
        first = campaign.ladder_for(variant)[0]
        result.position = Position(
            account_id=account_id,
            campaign=campaign.id,
            variant=variant,
            episode_started_on=today,
            last_seen_on=today,
            stage_index=0,
            stage=first.id,
            stage_since=today,
            status="active",
            status_reason=start,
        )
        arm = f" (variant {variant})" if variant else ""
        result.note("enter", f"{start}: {campaign.id} ladder starts at {first.describe()}{arm}")
        _execute(result, campaign, history, today)
        return result

    assert position is not None
    result.position = replace(position, last_seen_on=today)
    if position.stage_since == today and position.status in ("active", "awaiting_approval"):
        # Re-planning a day already planned: carry out the same stage again (the step keys match).
        if position.status == "active":
            _execute(result, campaign, history, today, replanning=True)
        return result
    if _settle_promises(result, campaign, account, history, today):
        return result
    if position.status in ("complete", "ended"):
        return result
    if position.status == "awaiting_approval":
        _await_approval(result, campaign, history, today)
        return result
    _progress(result, campaign, history, today)
    return result


def _episode_start(campaign: Campaign, account: dict[str, Any], position: Position | None, today: date) -> str | None:
    """Why the ladder starts afresh today, or None when the account carries on where it was."""
    if position is None:
        return f"account enters {account['bucket']} at DPD {account['dpd']}"
    due = account.get("oldest_unpaid_due_date")
    if due is not None and _as_date(due) > position.last_seen_on:
        return f"new delinquency episode: oldest unpaid due date {_as_date(due)} is after {position.last_seen_on}"
    if position.status == "ended":
        if today > position.last_seen_on + RESTART_AFTER_ENDED:
            return f"still overdue {RESTART_AFTER_ENDED.days} days after the episode ended ({position.status_reason})"
        return None
    if position.campaign != campaign.id:
        return f"bucket moved to {account['bucket']} (was on {position.campaign})"
    return None


def _settle_promises(result: Move, campaign: Campaign, account: dict[str, Any], history: History, today: date) -> bool:
    """Apply open promises; True when a promise decides today (pause, end or escalation)."""
    position = result.position
    assert position is not None
    for promise in sorted(history.promises, key=lambda p: p.promised_on):
        paid = sum(amount for paid_on, amount in history.payments if paid_on >= promise.recorded_on)
        if promise.instalments:
            _settle_plan(result, campaign, history, today, promise, paid)
            return True
        amount = money(promise.amount_minor, promise.currency)
        if paid >= promise.amount_minor:
            result.promises.append((promise.id, "kept"))
            result.position = replace(position, status="ended", status_reason=f"promise of {amount} kept")
            result.note("end", f"promise of {amount} due {promise.promised_on} kept; the episode ends")
            return True
        if today > promise.promised_on + timedelta(days=campaign.promise_grace_days):
            result.promises.append((promise.id, "broken"))
            result.note(
                "escalate",
                f"promise of {amount} due {promise.promised_on} broken "
                f"({money(paid, promise.currency)} paid by {today}, grace {campaign.promise_grace_days} day(s))",
            )
            result.position = replace(position, status="active")
            _advance(result, campaign, history, today, "a broken promise escalates")
            return True
        reason = f"promise to pay {amount} by {promise.promised_on}: outreach paused"
        if position.status != "paused":
            result.note("pause", reason)
        result.position = replace(position, status="paused", status_reason=reason)
        return True
    if position.status == "paused":
        result.position = replace(position, status="active", status_reason="no open promise")
    return False


def _settle_plan(result: Move, campaign: Campaign, history: History, today: date, promise: Promise, paid: int) -> None:
    """A repayment plan: ``paid`` (everything paid since it was made) covers its instalments in order."""
    position = result.position
    assert position is not None
    count = len(promise.instalments)
    total = money(promise.amount_minor, promise.currency)
    grace = campaign.promise_grace_days
    due_so_far = 0
    for number, instalment in enumerate(promise.instalments, 1):
        due_so_far += instalment.amount_minor
        if paid >= due_so_far:
            continue
        amount = money(instalment.amount_minor, promise.currency)
        if today > instalment.due_on + timedelta(days=grace):
            result.promises.append((promise.id, "broken"))
            result.note(
                "escalate",
                f"instalment {number} of {count} ({amount} due {instalment.due_on}) of the repayment plan missed "
                f"({money(paid, promise.currency)} paid by {today}, grace {grace} day(s))",
            )
            result.position = replace(position, status="active")
            _advance(result, campaign, history, today, "a missed instalment escalates")
            return
        towards = paid - (due_so_far - instalment.amount_minor)
        part = f" ({money(towards, promise.currency)} of it paid)" if towards > 0 else ""
        reason = (
            f"repayment plan: instalment {number} of {count}, {amount} due {instalment.due_on}{part}; outreach paused"
        )
        if position.status != "paused" or position.status_reason != reason:
            result.note("pause", reason)
        result.position = replace(position, status="paused", status_reason=reason)
        return
    result.promises.append((promise.id, "kept"))
    result.position = replace(
        position, status="ended", status_reason=f"repayment plan of {total} in {count} instalments kept"
    )
    result.note(
        "end",
        f"repayment plan of {total} in {count} instalments (last due {promise.promised_on}) kept; the episode ends",
    )


def _await_approval(result: Move, campaign: Campaign, history: History, today: date) -> None:
    position = result.position
    assert position is not None
    stage = campaign.ladder_for(position.variant)[position.stage_index]
    latest = _latest_handoff(history, stage.id, position.stage_since)
    if latest is None or latest.status == "awaiting_approval":
        since = latest.business_date if latest else position.stage_since
        result.note("wait", f"{stage.describe()} awaits a person's approval (requested {since})")
        return
    if latest.status == "timed_out":
        result.note("request", f"the approval of {stage.describe()} lapsed unanswered; asked again")
        result.execute.append((stage, stage.channel, False))
        return
    if latest.status == "rejected":
        who = latest.decided_by or "a person"
        result.position = replace(position, status="active")
        _advance(
            result, campaign, history, today, f"{stage.describe()} rejected by {who}: {latest.decision_note or ''}"
        )
        return
    result.position = replace(position, status="active", status_reason=f"{stage.describe()} approved")
    _progress(result, campaign, history, today)


def _progress(result: Move, campaign: Campaign, history: History, today: date) -> None:
    position = result.position
    assert position is not None
    stage = campaign.ladder_for(position.variant)[position.stage_index]
    steps = [s for s in history.steps if s.stage == stage.id and s.business_date >= position.stage_since]

    if stage.needs_approval:
        placed = _latest_handoff(history, stage.id, position.stage_since)
        if placed is None or placed.status not in ("approved", "placed"):
            _execute(result, campaign, history, today)
            return
        executed_on = placed.decided_at.date() if hasattr(placed.decided_at, "date") else placed.business_date
        _advance_when_due(result, campaign, history, today, stage, executed_on, failed=False)
        return

    if any(s.attempt in IN_FLIGHT_ATTEMPTS for s in steps):
        result.note("wait", f"{stage.describe()}: a send is still unconfirmed at the provider")
        return
    went_out = [s for s in steps if s.attempt is not None and s.attempt not in FAILED_ATTEMPTS]
    if went_out:
        executed_on = min(s.business_date for s in went_out)
        _advance_when_due(result, campaign, history, today, stage, executed_on, failed=False)
        return

    dead = _dead_channels(steps, history, stage.recipient)
    wanted = [stage.fallback] if position.fallback_used and stage.fallback else list(stage.channels)
    if wanted and all(channel in dead for channel in wanted):
        reasons = "; ".join(f"{channel}: {dead[channel]}" for channel in wanted)
        if stage.fallback and not position.fallback_used and stage.fallback not in dead:
            result.position = replace(position, fallback_used=True)
            result.note(
                "fallback",
                f"{stage.describe()} could not reach the {_whom(stage)} ({reasons}); trying {stage.fallback}",
            )
            result.execute.append((stage, stage.fallback, True))
            return
        _advance(result, campaign, history, today, f"{stage.describe()} could not reach the {_whom(stage)} ({reasons})")
        return
    # Not sent yet (first day, or held back by the policy or the clock): try again today.
    _execute(result, campaign, history, today)


def _whom(stage: Stage) -> str:
    return spoken(stage.recipient)


def _dead_channels(steps: Sequence[StepOutcome], history: History, recipient: str) -> dict[str, str]:
    """Channels of the stage that cannot reach its recipient, with why."""
    dead: dict[str, str] = {}
    for channel in history.reachable_for(recipient) ^ {
        "sms",
        "email",
        "voice",
        "agent_queue",
        "letter",
        "agency",
        "legal",
    }:
        dead[channel] = _no_contact_point(channel, recipient)
    for step in steps:
        if step.attempt in FAILED_ATTEMPTS:
            dead[step.channel] = f"{step.attempt} ({step.reason})" if step.reason else str(step.attempt)
        elif step.attempt is None and step.decision == "block" and not step.on_hold:
            dead[step.channel] = f"blocked: {step.reason}"
    return dead


def _advance_when_due(
    result: Move, campaign: Campaign, history: History, today: date, stage: Stage, executed_on: date, failed: bool
) -> None:
    steps = [s for s in history.steps if s.stage == stage.id and s.business_date >= executed_on]
    if stage.advance_on == "undelivered" and any(s.attempt in FAILED_ATTEMPTS for s in steps):
        _advance(result, campaign, history, today, f"{stage.describe()} was not delivered")
        return
    anchor, watched = executed_on, "payment"
    if stage.advance_on == "no_response":
        watched = "response"
        later = [d for d in history.responses if d >= executed_on]
    else:
        later = [paid_on for paid_on, _ in history.payments if paid_on >= executed_on]
    if later:
        anchor = max(later)
    due = anchor + timedelta(days=stage.wait_days)
    if today >= due:
        since = f"last {watched} {anchor}" if later else f"it went out {executed_on}"
        _advance(
            result,
            campaign,
            history,
            today,
            f"no {watched} within {stage.wait_days} day(s) of {stage.describe()} ({since})",
        )
        return
    why = f"a {watched} on {anchor} restarted the wait; " if later else ""
    result.note("wait", f"{stage.describe()} went out {executed_on}; {why}next stage from {due}")


def _advance(result: Move, campaign: Campaign, history: History, today: date, why: str) -> None:
    position = result.position
    assert position is not None
    ladder = campaign.ladder_for(position.variant)
    if position.stage_index + 1 >= len(ladder):
        result.position = replace(position, status="complete", status_reason=f"ladder complete: {why}")
        result.note("complete", f"{why}; the ladder is complete and the account awaits a person's decision")
        return
    following = ladder[position.stage_index + 1]
    result.position = replace(
        position,
        stage_index=position.stage_index + 1,
        stage=following.id,
        stage_since=today,
        status="active",
        status_reason=why,
        fallback_used=False,
    )
    result.note("advance", f"{why}; on to {following.describe()}")
    _execute(result, campaign, history, today)


def _execute(result: Move, campaign: Campaign, history: History, today: date, replanning: bool = False) -> None:
    """Plan the current stage's channels today, or its fallback when none can reach the debtor."""
    position = result.position
    assert position is not None
    stage = campaign.ladder_for(position.variant)[position.stage_index]
    if stage.needs_approval:
        result.position = replace(position, status="awaiting_approval", status_reason=f"{stage.describe()} requested")
        result.execute.append((stage, stage.channel, False))
        return
    if position.fallback_used and stage.fallback:
        result.execute.append((stage, stage.fallback, True))
        return
    reachable = [c for c in stage.channels if c in history.reachable_for(stage.recipient)]
    if reachable:
        result.execute.extend((stage, channel, False) for channel in reachable)
        return
    missing = ", ".join(_no_contact_point(c, stage.recipient) for c in stage.channels)
    if stage.fallback and stage.fallback in history.reachable_for(stage.recipient):
        result.position = replace(position, fallback_used=True)
        if not replanning:
            result.note("fallback", f"{stage.describe()}: {missing}; using {stage.fallback}")
        result.execute.append((stage, stage.fallback, True))
        return
    if not replanning:
        _advance(result, campaign, history, today, f"{stage.describe()}: {missing}")


# What a hand-off to another party lacks when it cannot reach them (``outreach.planner.PARTY_NEEDS``).
PARTY_HANDOFF_NEEDS = {"letter": "name to address a letter to", "agent_queue": "phone number for an agent to call"}


def _no_contact_point(channel: str, recipient: str) -> str:
    if recipient == "debtor":
        return f"no {channel} contact point on file"
    if channel in PARTY_HANDOFF_NEEDS:
        return f"no {PARTY_HANDOFF_NEEDS[channel]} on file for the {spoken(recipient)}"
    return f"no {channel} contact point on file for the {spoken(recipient)}"


def _latest_handoff(history: History, stage: str, since: date) -> Handoff | None:
    matching = [h for h in history.handoffs if h.stage == stage and h.business_date >= since]
    return max(matching, key=lambda h: h.business_date) if matching else None


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
