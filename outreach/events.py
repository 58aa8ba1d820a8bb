"""Turning what comes back from the world into ledger rows that change what happens next.

An inbound reply is recorded as an event and its suppressions are written at
once, in the same transaction, so the very next dispatch already honours them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from outreach.ledger import Ledger, utc
from outreach.ledger.schema import attempts, events, planned_steps, suppressions
from outreach.masking import mask_address, mask_row, mask_text
from outreach.policy.model import Channel, SenderType
from outreach.policy.replies import ReplyEffect, effects


def record_reply(
    ledger: Ledger,
    account_id: str | None,
    channel: Channel,
    address: str,
    text: str,
    at: datetime,
    provider_id: str | None = None,
    received_at: datetime | None = None,
    sender_type: SenderType | None = None,
) -> ReplyEffect | None:
    """Record an inbound reply and apply its suppressions (or, for START, lift the SMS opt-out).

    ``provider_id`` (Twilio's MessageSid) makes it count once: a webhook the provider delivers
    again, perhaps after a later STOP, changes nothing and gives None. ``at`` is when the person
    sent it, by the provider's clock where known (``received_at``: when it reached us), so
    opt-outs and opt-ins take effect in the order they were sent, whatever order they arrive in:
    a START lifts only what was in force when it was sent, and a STOP that arrives after a later
    START is recorded as lifted by it.
    """
    effect = effects(text, channel, address, at, sender_type)
    with ledger.engine.begin() as conn:
        if provider_id:
            key = f"in:{provider_id}"[:128]
            if conn.execute(select(events.c.id).where(events.c.provider_event_id == key)).first():
                return None
        payload: dict[str, Any] = {
            "intent": effect.intent,
            "from": mask_address(channel, address),
            "routing": effect.routing,
            "confirm": effect.confirm,
        }
        if effect.lift:
            payload["lifts"] = [[reason, lift_channel] for reason, lift_channel, _ in effect.lift]
        conn.execute(
            insert(events).values(
                provider_event_id=f"in:{provider_id}"[:128] if provider_id else None,
                account_id=account_id,
                channel=channel,
                kind="inbound",
                outcome=None,
                address=address,
                occurred_at=at,
                recorded_at=received_at or at,
                payload=payload,
            )
        )
        if effect.intent == "call_request":
            # Kept as a fact of its own: the planner and the dispatcher read it as the consumer's
            # direct consent to calls to this number (not counted for 7 days, 12 CFR 1006.14(b)(3)).
            conn.execute(
                insert(events).values(
                    account_id=account_id,
                    channel=channel,
                    kind="call_consent",
                    address=address,
                    occurred_at=at,
                    recorded_at=received_at or at,
                    payload={"from_reply": True},
                )
            )
        later_opt_ins = _opt_ins_after(conn, account_id, address, at) if effect.add else []
        for hold in effect.add:
            lifted_by = next(
                (
                    when
                    for when, lifts in later_opt_ins
                    if [hold.reason, hold.channel] in lifts and hold.address == address
                ),
                None,
            )
            conn.execute(
                insert(suppressions).values(
                    account_id=account_id,
                    channel=hold.channel,
                    address=hold.address,
                    reason=hold.reason,
                    source=hold.source,
                    effective_at=hold.effective_at,
                    recorded_at=received_at or at,
                    lifted_at=lifted_by,
                    note=f"reply classified as {effect.intent}"
                    + (" (sent before an opt-in that arrived first)" if lifted_by else ""),
                )
            )
        for reason, lift_channel, lift_address in effect.lift:
            if lift_channel is not None:
                _narrow_to_other_channels(conn, account_id, reason, lift_channel, lift_address, at)
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
                        # An opt-out sent after this opt-in (delivered before it) stays.
                        suppressions.c.effective_at <= at,
                    )
                )
                .values(lifted_at=at)
            )
    return effect


# The channels a revocation of consent to automated contact to a number covers.
OPT_OUT_CHANNELS = frozenset({"sms", "voice"})


def _narrow_to_other_channels(
    conn: Any, account_id: str | None, reason: str, lifted_channel: str, address: str, at: datetime
) -> None:
    """A hold on every channel of a number (an opt-out recorded before holds were kept per channel) that
    an opt-in lifts for one channel only: it is lifted and stands again for the other channels, from the
    same instant, so a START gives back the texts and never the automated calls."""
    wide = (
        conn.execute(
            select(suppressions).where(
                and_(
                    suppressions.c.account_id == account_id,
                    suppressions.c.reason == reason,
                    suppressions.c.address == address,
                    suppressions.c.channel.is_(None),
                    suppressions.c.lifted_at.is_(None),
                    suppressions.c.effective_at <= at,
                )
            )
        )
        .mappings()
        .all()
    )
    for hold in wide:
        conn.execute(update(suppressions).where(suppressions.c.id == hold["id"]).values(lifted_at=at))
        for other in sorted(OPT_OUT_CHANNELS - {lifted_channel}):
            conn.execute(
                insert(suppressions).values(
                    account_id=hold["account_id"],
                    channel=other,
                    address=address,
                    reason=reason,
                    source=hold["source"],
                    effective_at=hold["effective_at"],
                    note=f"{hold['note'] or reason}; kept for {other} when an opt-in gave back {lifted_channel}",
                )
            )


def _opt_ins_after(conn: Any, account_id: str | None, address: str, at: datetime) -> list[tuple[datetime, list]]:
    """Opt-ins from ``address`` sent after ``at`` (and already recorded): when, and what each lifts."""
    rows = conn.execute(
        select(events.c.occurred_at, events.c.payload)
        .where(
            events.c.kind == "inbound",
            events.c.address == address,
            events.c.occurred_at > at,
            events.c.account_id.is_(None) if account_id is None else events.c.account_id == account_id,
        )
        .order_by(events.c.occurred_at)
    ).all()
    return [(utc(when), (payload or {}).get("lifts", [])) for when, payload in rows if (payload or {}).get("lifts")]


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
    return bool(_insert_new_events(conn, [{"provider_event_id": provider_event_id, **values}]))


# Attempts whose send is not known to have reached the provider: any callback settles them.
UNSETTLED = ("claimed", "unknown")


def _settle_step(conn: Any, step_key: str) -> None:
    """The provider has the message after all: the step is sent, whatever its send's answer was."""
    conn.execute(
        update(planned_steps)
        .where(planned_steps.c.step_key == step_key, planned_steps.c.status.in_(["pending", "unknown"]))
        .values(status="sent", status_reason="confirmed by the provider's callback")
    )


def record_twilio_status(ledger: Ledger, step_key: str, params: dict[str, str], at: datetime) -> str | None:
    """Apply a Twilio message or call status callback to the step it belongs to.

    Idempotent (the same SID and status twice changes nothing), and it settles a
    step whose send was interrupted before the provider id was recorded.
    Returns the attempt's new status, or None when the step is unknown.
    """
    return record_twilio_statuses(ledger, [(step_key, params, at)])[0]


def _twilio_outcome(params: dict[str, str]) -> tuple[str, str, str]:
    """The provider id, Twilio's status and what it means for the attempt."""
    sid = params.get("MessageSid") or params.get("CallSid") or ""
    if "CallSid" in params:
        status = params.get("CallStatus", "")
        if status == "completed":
            outcome = "voicemail" if params.get("AnsweredBy", "human").startswith("machine") else "connected"
        else:
            outcome = CALL_OUTCOMES.get(
                status, "unknown" if status in ("initiated", "ringing", "in-progress") else status
            )
        return sid, status, outcome
    status = params.get("MessageStatus", "")
    outcome = {"delivered": "delivered", "undelivered": "undelivered", "failed": "undelivered"}.get(status, "sent")
    return sid, status, outcome


def record_twilio_statuses(
    ledger: Ledger, callbacks: Sequence[tuple[str | None, dict[str, str], datetime]]
) -> list[str | None]:
    """Apply many status callbacks (step key, params, time) in one transaction, in their order.

    Each is applied as ``record_twilio_status`` would apply it alone; a busy short code's
    callbacks share one commit instead of paying one each. Returns each attempt's status
    after its callback, or None for a step the ledger does not know.
    """
    keys = sorted({key for key, _, _ in callbacks if key})
    answers: list[str | None] = []
    with ledger.engine.begin() as conn:
        current = {
            row["step_key"]: dict(row)
            for start in range(0, len(keys), 1000)
            for row in conn.execute(select(attempts).where(attempts.c.step_key.in_(keys[start : start + 1000])))
            .mappings()
            .all()
        }
        parsed = [(key, params, at, *_twilio_outcome(params)) for key, params, at in callbacks]
        rows: dict[str, dict[str, Any]] = {}
        for key, params, at, sid, status, outcome in parsed:
            attempt = current.get(key or "")
            if attempt is not None and f"{sid}:{status}" not in rows:
                rows[f"{sid}:{status}"] = {
                    "provider_event_id": f"{sid}:{status}",
                    "account_id": attempt["account_id"],
                    "step_key": key,
                    "channel": attempt["channel"],
                    "kind": "delivery",
                    "outcome": outcome,
                    "occurred_at": at,
                    "recorded_at": datetime.now(UTC),
                    "payload": {"status": status, "error_code": params.get("ErrorCode")},
                }
        new_ids = _insert_new_events(conn, list(rows.values()))
        changed: dict[str, dict[str, Any]] = {}
        settled: set[str] = set()
        for key, params, at, sid, status, outcome in parsed:
            attempt = current.get(key or "")
            if attempt is None:
                answers.append(None)
                continue
            if f"{sid}:{status}" not in new_ids:
                answers.append(attempt["status"])
                continue
            new_ids.discard(f"{sid}:{status}")  # the same callback twice in one batch counts once
            unsettled = attempt["status"] in UNSETTLED
            if outcome in ("unknown", "sent") and not unsettled:
                answers.append(attempt["status"])
                continue
            attempt.update(
                status="sent" if outcome == "unknown" else outcome,
                provider_message_id=attempt["provider_message_id"] or sid,
                error_code=params.get("ErrorCode") or (None if unsettled else attempt["error_code"]),
                error=None if unsettled else attempt["error"],
                completed_at=attempt["completed_at"] or at,
            )
            changed[key] = attempt
            if unsettled:
                settled.add(key)
            answers.append(attempt["status"])
        _write_attempt_outcomes(conn, list(changed.values()))
        for key in sorted(settled):
            _settle_step(conn, key)
    return answers


def record_twilio_recording(ledger: Ledger, step_key: str | None, params: dict[str, str], at: datetime) -> bool:
    """Keep a call's recording on its attempt, with the date it must be kept until (the rule's days).

    Only a completed recording counts; "absent" (nothing was recorded) leaves the call without one,
    which the run report lists. Returns whether the step is known.
    """
    if not step_key:
        return False
    with ledger.engine.begin() as conn:
        attempt = _attempt(conn, step_key)
        if attempt is None:
            return False
        if params.get("RecordingStatus") != "completed" or not params.get("RecordingSid"):
            return True
        days = attempt["recording_days"] or 0
        conn.execute(
            update(attempts)
            .where(attempts.c.step_key == step_key)
            .values(
                recording_ref=params["RecordingSid"][:64],
                recording_kept_until=at + timedelta(days=days) if days else None,
            )
        )
    return True


def _insert_new_events(conn: Any, rows: list[dict[str, Any]]) -> set[str]:
    """Insert events whose provider id is new, in one statement; the provider ids that were new.

    A provider's retry racing the original (in flight at once, or in another batch) is
    recorded once and neither gets an error.
    """
    if not rows:
        return set()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    # executemany of one statement: compiled once and cached, whatever the batch's size.
    statement = (
        dialect_insert(events)
        .on_conflict_do_nothing(index_elements=["provider_event_id"])
        .returning(events.c.provider_event_id)
    )
    return {row[0] for row in conn.execute(statement, rows).all()}


def _write_attempt_outcomes(conn: Any, changed: list[dict[str, Any]]) -> None:
    if not changed:
        return
    values = {
        "status": bindparam("new_status"),
        "provider_message_id": bindparam("new_provider_id"),
        "error_code": bindparam("new_code"),
        "error": bindparam("new_error"),
        "completed_at": bindparam("new_completed_at"),
    }
    rows = [
        {
            "key": a["step_key"],
            "new_status": a["status"],
            "new_provider_id": a["provider_message_id"],
            "new_code": a["error_code"],
            "new_error": a["error"],
            "new_completed_at": a["completed_at"],
        }
        for a in changed
    ]
    final = [row for row in rows if row["new_status"] != "sent"]
    sent = [row for row in rows if row["new_status"] == "sent"]
    if final:
        conn.execute(update(attempts).where(attempts.c.step_key == bindparam("key")).values(values), final)
    if sent:
        # Only an unsettled attempt becomes "sent": a final outcome another process recorded meanwhile stands.
        conn.execute(
            update(attempts)
            .where(attempts.c.step_key == bindparam("key"), attempts.c.status.in_(UNSETTLED))
            .values(values),
            sent,
        )


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


# Where SendGrid event items that could not be read wait for a person (the ops view lists them).
SENDGRID_SET_ASIDE = "sendgrid_event_webhook"


def sendgrid_item_problem(item: Any) -> tuple[str, str] | None:
    """(field, reason) when an item of a SendGrid batch cannot be applied; None when it can."""
    if not isinstance(item, dict):
        return "item", f"is a {type(item).__name__}, not an event object"
    if not isinstance(item.get("event"), str) or not item["event"]:
        return "event", "is missing"
    timestamp = item.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float) or timestamp <= 0:
        return "timestamp", f"{str(timestamp)[:40]!r} is not a Unix time"
    return None


def sendgrid_event_id(item: dict[str, Any]) -> str:
    """SendGrid's own event id; without one, a digest of what the event says, so two events never collapse."""
    if item.get("sg_event_id"):
        return f"sg:{item['sg_event_id']}"[:128]
    digest = hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()[:40]
    return f"sg:digest:{digest}"


def record_sendgrid_events(ledger: Ledger, batch: list[Any], received_at: datetime | None = None) -> int:
    """Apply SendGrid events (carrying the message's ref, ``step``, in their custom args); returns how many were new.

    An item that cannot be read is set aside with its place in the batch and what was wrong;
    the others are applied, so one bad item never costs the batch.
    """
    new = 0
    received_at = received_at or datetime.now(UTC)
    set_aside = []
    for line, item in enumerate(batch, start=1):
        problem = sendgrid_item_problem(item)
        if problem is not None:
            field, reason = problem
            raw = mask_row(item) if isinstance(item, dict) else {"item": mask_text(str(item)[:500])}
            set_aside.append(
                {
                    "run_id": SENDGRID_SET_ASIDE,
                    "business_date": received_at.date(),
                    "source": "SendGrid event webhook",
                    "line": line,
                    "field": field,
                    "reason": f"{field} {reason}: the item was not applied (the rest of its batch was)",
                    "raw": raw,
                }
            )
            continue
        # Emails sent before refs carry the step key itself.
        step = item.get("step") or item.get("step_key")
        step_key = ledger.step_key_for(str(step)) if step else None
        if not step_key:
            continue
        event, at = item["event"], datetime.fromtimestamp(float(item["timestamp"]), UTC)
        with ledger.engine.begin() as conn:
            attempt = _attempt(conn, step_key)
            if attempt is None:
                continue
            if not _event_once(
                conn,
                sendgrid_event_id(item),
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
            if attempt["status"] in UNSETTLED or status:
                settled = {"error_code": None, "error": None} if attempt["status"] in UNSETTLED else {}
                conn.execute(
                    update(attempts)
                    .where(attempts.c.step_key == step_key)
                    .values(
                        status=status or "sent",
                        provider_message_id=attempt["provider_message_id"] or item.get("sg_message_id"),
                        **settled,
                    )
                )
                if settled:
                    _settle_step(conn, step_key)
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
    ledger.set_aside(set_aside)
    return new


def record_unsubscribe(ledger: Ledger, message: dict[str, Any], at: datetime, how: str) -> bool:
    """Stop email to the address a message went to (its unsubscribe link); False when already stopped.

    ``message`` is the ledger's row of the message's ref (``Ledger.message_ref``). The opt-out
    holds from ``at`` for the address, whichever account lists it, as a STOP does for a number.
    """
    address = message["contact_address"]
    with ledger.engine.begin() as conn:
        active = conn.execute(
            select(suppressions.c.id).where(
                and_(
                    suppressions.c.channel == "email",
                    suppressions.c.address == address,
                    suppressions.c.reason == "electronic_address_opt_out",
                    suppressions.c.lifted_at.is_(None),
                )
            )
        ).first()
        if active:
            return False
        conn.execute(
            insert(suppressions).values(
                account_id=message["account_id"],
                channel="email",
                address=address,
                reason="electronic_address_opt_out",
                source="unsubscribe_link",
                effective_at=at,
                note=f"{how} from the {message['campaign']} email of {message['business_date']}",
            )
        )
    return True
