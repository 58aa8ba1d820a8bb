"""Turning what comes back from the world into ledger rows that change what happens next.

An inbound reply is recorded as an event and its suppressions are written at
once, in the same transaction, so the very next dispatch already honours them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, update

from outreach.ledger import Ledger
from outreach.ledger.schema import events, suppressions
from outreach.masking import mask_address
from outreach.policy.model import Channel
from outreach.policy.replies import ReplyEffect, effects


def record_reply(
    ledger: Ledger, account_id: str, channel: Channel, address: str, text: str, at: datetime
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
                payload={"intent": effect.intent, "from": mask_address(channel, address), "routing": effect.routing},
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
