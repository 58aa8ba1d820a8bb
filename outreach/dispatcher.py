"""Executing the day's plan: claim each due step in the ledger, send it, record the outcome.

The claim comes before the provider call and is unique per step key, so an
Airflow retry, a re-run of the day or a second worker never contacts anyone twice.
Quiet hours are judged at send time: a step whose contact window has not
opened yet is deferred, one whose window has closed expires, each with its reason.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from outreach.channels import Channel, OutboundMessage, SendResult
from outreach.ledger import Ledger
from outreach.messages import Renderer
from outreach.policy import ContactRequest
from outreach.policy.engine import suppression_holds

log = logging.getLogger(__name__)


@dataclass
class DispatchSummary:
    due: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    expired: int = 0
    held_at_send: int = 0
    claimed_elsewhere: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "by_channel"}
        data["sent_by_channel"] = dict(self.by_channel)
        return data


def _in_window(step: Mapping[str, Any], now: datetime) -> tuple[str, str | None]:
    """('due' | 'deferred' | 'expired', reason)."""
    start, end = step["window_start"], step["window_end"]
    if pd.isna(start) or pd.isna(end):
        return "due", None
    if now < start:
        return "deferred", f"quiet hours: contact window opens {start:%Y-%m-%d %H:%M} UTC"
    if now >= end:
        return "expired", f"contact window closed {end:%Y-%m-%d %H:%M} UTC before the step could go"
    return "due", None


def dispatch(
    ledger: Ledger,
    business_date: date,
    run_id: str,
    channels: Mapping[str, Channel],
    renderer: Renderer,
    now: datetime | None = None,
    batch_size: int = 500,
) -> DispatchSummary:
    now = now or datetime.now(UTC)
    summary = DispatchSummary()
    steps = ledger.steps(business_date, statuses=["pending", "deferred"])
    if steps.empty:
        return summary
    accounts = ledger.snapshot(business_date).set_index("account_id").to_dict("index")
    suppressions = ledger.active_suppressions(now)
    suppressed_accounts = set(suppressions["account_id"]) if not suppressions.empty else set()

    status_updates: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    due: list[dict[str, Any]] = []

    def note(step: Mapping[str, Any], status: str, reason: str) -> None:
        status_updates.append({"step_key": step["step_key"], "status": status, "status_reason": reason})
        audit.append(
            {
                "decided_at": now,
                "run_id": run_id,
                "business_date": business_date,
                "account_id": step["account_id"],
                "step_key": step["step_key"],
                "actor": "dispatcher",
                "decision": status,
                "rule_ids": "regf.window" if status in {"deferred", "expired"} else "ledger.suppression",
                "reason": reason,
            }
        )

    for step in steps.to_dict("records"):
        if step["account_id"] in suppressed_accounts:
            # An opt-out or hold recorded after the plan was made still stops the step.
            rows = suppressions[suppressions["account_id"] == step["account_id"]].to_dict("records")
            account = accounts[step["account_id"]]
            request = ContactRequest(account, step["channel"], step["contact_address"], business_date)
            holds = suppression_holds(request, rows)
            if holds:
                note(step, "held", "; ".join(text for _, text in holds))
                summary.held_at_send += 1
                continue
        state, reason = _in_window(step, now)
        if state != "due":
            note(step, state, reason or "")
            setattr(summary, state, getattr(summary, state) + 1)
            continue
        due.append(step)

    summary.due = len(due)
    for start in range(0, len(due), batch_size):
        batch = due[start : start + batch_size]
        won = ledger.claim(batch, run_id)
        summary.claimed_elsewhere += len(batch) - len(won)
        results: list[SendResult] = []
        by_channel: dict[str, list[OutboundMessage]] = {}
        for step in batch:
            if step["step_key"] not in won:
                continue
            account = {"account_id": step["account_id"], **accounts[step["account_id"]]}
            rendered = renderer.render(step["channel"], step["template"], account)
            by_channel.setdefault(step["channel"], []).append(
                OutboundMessage(
                    step_key=step["step_key"],
                    account_id=step["account_id"],
                    channel=step["channel"],
                    to=step["contact_address"],
                    subject=rendered.subject,
                    body=rendered.body,
                    locale=account["locale"],
                )
            )
        for channel_name, messages in by_channel.items():
            results.extend(channels[channel_name].send(messages))
        ledger.complete_attempts([r.__dict__ for r in results])
        channel_of = {step["step_key"]: step["channel"] for step in batch}
        for result in results:
            status_updates.append({"step_key": result.step_key, "status": result.status, "status_reason": result.error})
            if result.status == "sent":
                summary.sent += 1
                summary.by_channel[channel_of[result.step_key]] += 1
            else:
                summary.failed += 1
        log.info(
            "dispatched batch of %d: %d sent, %d failed",
            len(batch),
            sum(r.status == "sent" for r in results),
            sum(r.status == "failed" for r in results),
        )

    ledger.set_step_status(status_updates)
    ledger.record_decisions(audit)
    return summary


def channels_for(kind: str, outbox_dir: Any, business_date: date) -> dict[str, Channel]:
    """The channel set for a deployment. Only the log channel exists at this stage."""
    if kind != "log":
        raise ValueError(f"unknown channel set {kind!r}; available: log")
    from outreach.channels import LogChannel

    channel = LogChannel(outbox_dir / f"{business_date.isoformat()}.jsonl")
    return {"sms": channel, "email": channel, "voice": channel, "agent_queue": channel}
