"""Turning what comes back from the world into ledger rows that change what happens next.

An inbound reply is recorded as an event and its suppressions are written at
once, in the same transaction, so the very next dispatch already honours them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, select, update

from outreach.ledger import Ledger
from outreach.ledger.schema import attempts, events, planned_steps, suppressions
from outreach.masking import mask_address
from outreach.policy.model import Channel
from outreach.policy.replies import ReplyEffect, effects


def record_reply(
    ledger: Ledger, account_id: str | None, channel: Channel, address: str, text: str, at: datetime
) -> ReplyEffect:
    """Record an inbound reply and apply its suppressions (or, for START, lift the SMS opt-out)."""
    effect = effects(text, channel, address, at)
    with ledger.engine.begin() as conn:
        conn.execute(
            insert(events).values(
                account_id=account_id,
                channel=channel,
                kind="inbound",
                outcome=None,
                address=address,
                occurred_at=at,
                recorded_at=at,
                payload={
                    "intent": effect.intent,
                    "from": mask_address(channel, address),
                    "routing": effect.routing,
                    "confirm": effect.confirm,
                },
            )
        )
        for hold in effect.add:
            conn.execute(
                insert(suppressions).values(
                    account_id=account_id,
                    channel=hold.channel,
                    address=hold.address,
                    reason=hold.reason,
                    source=hold.source,
                    effective_at=hold.effective_at,
                    note=f"reply classified as {effect.intent}",
                )
            )
        for reason, lift_channel, lift_address in effect.lift:
            channel_match = (
                suppressions.c.channel.is_(None) if lift_channel is None else suppressions.c.channel == lift_channel
            )
            conn.execute(
                update(suppressions)
                .where(
                    and_(
                        suppressions.c.account_id == account_id,
                        suppressions.c.reason == reason,
                        suppressions.c.address == lift_address,
                        channel_match,
                        suppressions.c.lifted_at.is_(None),
                    )
                )
                .values(lifted_at=at)
            )
    return effect


# Twilio call status (and AnsweredBy) -> the call outcome the contact policy counts.
CALL_OUTCOMES = {"busy": "busy", "no-answer": "no_answer", "failed": "not_connected", "canceled": "not_connected"}
SENDGRID_HOLDS = {
    "bounce": ("provider_block", "hard_bounce"),
    "dropped": ("provider_block", "dropped"),
    "spamreport": ("provider_block", "spam_report"),
    "unsubscribe": ("electronic_address_opt_out", "unsubscribe"),
    "group_unsubscribe": ("electronic_address_opt_out", "group_unsubscribe"),
}


def _attempt(conn: Any, step_key: str) -> Any:
    return conn.execute(select(attempts).where(attempts.c.step_key == step_key)).mappings().first()


def _event_once(conn: Any, provider_event_id: str, **values: Any) -> bool:
    """Insert an event unless its provider id was seen before; True when it is new."""
    seen = conn.execute(select(events.c.id).where(events.c.provider_event_id == provider_event_id)).first()
    if seen:
        return False
    conn.execute(insert(events).values(provider_event_id=provider_event_id, **values))
    return True


def record_twilio_status(ledger: Ledger, step_key: str, params: dict[str, str], at: datetime) -> str | None:
    """Apply a Twilio message or call status callback to the step it belongs to.

    Idempotent (the same SID and status twice changes nothing), and it settles a
    step whose send was interrupted before the provider id was recorded.
    Returns the attempt's new status, or None when the step is unknown.
    """
    sid = params.get("MessageSid") or params.get("CallSid") or ""
    if "CallSid" in params:
        status = params.get("CallStatus", "")
        if status == "completed":
            outcome = "voicemail" if params.get("AnsweredBy", "human").startswith("machine") else "connected"
        else:
            outcome = CALL_OUTCOMES.get(
                status, "unknown" if status in ("initiated", "ringing", "in-progress") else status
            )
    else:
        status = params.get("MessageStatus", "")
        outcome = {"delivered": "delivered", "undelivered": "undelivered", "failed": "undelivered"}.get(status, "sent")
    with ledger.engine.begin() as conn:
        attempt = _attempt(conn, step_key)
        if attempt is None:
            return None
        if not _event_once(
            conn,
            f"{sid}:{status}",
            account_id=attempt["account_id"],
            step_key=step_key,
            channel=attempt["channel"],
            kind="delivery",
            outcome=outcome,
            occurred_at=at,
            recorded_at=datetime.now(UTC),
            payload={"status": status, "error_code": params.get("ErrorCode")},
        ):
            return attempt["status"]
        if outcome in ("unknown", "sent") and attempt["status"] not in ("claimed",):
            return attempt["status"]
        new_status = "sent" if outcome == "unknown" else outcome
        conn.execute(
            update(attempts)
            .where(attempts.c.step_key == step_key)
            .values(
                status=new_status,
                provider_message_id=attempt["provider_message_id"] or sid,
                error_code=params.get("ErrorCode") or attempt["error_code"],
                completed_at=attempt["completed_at"] or at,
            )
        )
        return new_status


# What a keypress during an automated call asks for (the call's menu says the same).
KEYPRESS_MEANINGS = {"1": "payment link by text", "2": "a call back from an agent"}


def record_keypress(ledger: Ledger, step_key: str, call_sid: str, digits: str, at: datetime) -> bool | None:
    """Record a keypress on a call; None when the call's step is unknown, False when seen before."""
    with ledger.engine.begin() as conn:
        attempt = _attempt(conn, step_key)
        if attempt is None:
            return None
        return _event_once(
            conn,
            f"{call_sid}:gather:{digits}",
            account_id=attempt["account_id"],
            step_key=step_key,
            channel="voice",
            kind="keypress",
            outcome=digits[:16],
            occurred_at=at,
            recorded_at=datetime.now(UTC),
            payload={"meaning": KEYPRESS_MEANINGS.get(digits, "none")},
        )


def record_sendgrid_events(ledger: Ledger, batch: list[dict[str, Any]]) -> int:
    """Apply SendGrid events (carrying ``step_key`` in their custom args); returns how many were new."""
    new = 0
    for item in batch:
        step_key = item.get("step_key")
        if not step_key:
            continue
        event, at = item.get("event", ""), datetime.fromtimestamp(int(item.get("timestamp", 0)), UTC)
        with ledger.engine.begin() as conn:
            attempt = _attempt(conn, step_key)
            if attempt is None:
                continue
            if not _event_once(
                conn,
                f"sg:{item.get('sg_event_id')}",
                account_id=attempt["account_id"],
                step_key=step_key,
                channel="email",
                kind="delivery",
                outcome=event,
                occurred_at=at,
                recorded_at=datetime.now(UTC),
                payload={"event": event},
            ):
                continue
            new += 1
            status = {"delivered": "delivered", "bounce": "undelivered", "dropped": "undelivered"}.get(event)
            if attempt["status"] == "claimed" or status:
                conn.execute(
                    update(attempts)
                    .where(attempts.c.step_key == step_key)
                    .values(
                        status=status or "sent",
                        provider_message_id=attempt["provider_message_id"] or item.get("sg_message_id"),
                    )
                )
            if event in SENDGRID_HOLDS:
                reason, detail = SENDGRID_HOLDS[event]
                address = conn.execute(
                    select(planned_steps.c.contact_address).where(planned_steps.c.step_key == step_key)
                ).scalar()
                conn.execute(
                    insert(suppressions).values(
                        account_id=attempt["account_id"],
                        channel="email",
                        address=address,
                        reason=reason,
                        source="provider_webhook",
                        effective_at=at,
                        note=f"SendGrid {detail}",
                    )
                )
    return new
