"""Settling steps whose send was interrupted: claimed in the ledger, but with no provider record.

A worker killed between the claim and the provider's answer leaves a step whose
outcome is unknown. It is never re-sent blindly: provider callbacks settle most
of them (they carry the step key); after a grace period, a text is looked up at
the provider by number and time, adopted if it exists and only then released
for sending if it does not. Other channels, which offer no such lookup, are
marked unknown for a person to check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select, update

from outreach.ledger import Ledger, utc
from outreach.ledger.schema import attempts, planned_steps

# (number, claimed at) -> the provider's id of a text sent to it since then, if any.
SmsLookup = Callable[[str, datetime], str | None]


def reconcile_unconfirmed(
    ledger: Ledger, sms_lookup: SmsLookup | None, now: datetime, grace: timedelta
) -> dict[str, int]:
    counts = {"adopted": 0, "released": 0, "unknown": 0}
    with ledger.engine.begin() as conn:
        rows = conn.execute(
            select(attempts.c.step_key, attempts.c.channel, attempts.c.claimed_at, planned_steps.c.contact_address)
            .join(planned_steps, planned_steps.c.step_key == attempts.c.step_key)
            .where(and_(attempts.c.status == "claimed", attempts.c.claimed_at <= now - grace))
        ).all()
        for step_key, channel, claimed_at, address in rows:
            if channel == "sms" and sms_lookup is not None and address:
                sid = sms_lookup(address, utc(claimed_at))
                if sid:
                    conn.execute(
                        update(attempts)
                        .where(attempts.c.step_key == step_key)
                        .values(status="sent", provider_message_id=sid, completed_at=now)
                    )
                    counts["adopted"] += 1
                else:
                    # The provider never saw it: the claim is released and the step sends normally.
                    conn.execute(delete(attempts).where(attempts.c.step_key == step_key))
                    counts["released"] += 1
            else:
                conn.execute(
                    update(attempts)
                    .where(attempts.c.step_key == step_key)
                    .values(status="unknown", error="interrupted before the provider answered; not re-sent")
                )
                counts["unknown"] += 1
    return counts
