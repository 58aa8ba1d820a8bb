"""Settling sends whose outcome is unknown: never repeated until it is known they did not go.

Two things leave a send unknown. A worker that died between its claim and the
provider's answer leaves a claim whose lease ran out (a live worker renews its
leases, so a slow batch is never taken for a dead one). A request that timed out,
or whose connection dropped, after it went may have been accepted by the provider.

Provider callbacks settle most of them (they carry the message's ref). What is left
after ``grace``:

* a claim that never reached the point of sending (no message ref was registered)
  is released, and the step sends normally;
* a text is looked up at the provider: to its number, from our sender, since the
  claim, with exactly this step's words (its links carry its own ref, so another
  account's text to a shared number never matches). One exact match is adopted;
  none, and nothing that could be ours, releases the step; anything less certain
  is left ``unknown`` for a person;
* calls and emails, which offer no such lookup, are left ``unknown`` for a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update

from outreach.ledger import Ledger, utc
from outreach.ledger.schema import attempts, message_refs, planned_steps

# (number, sent since, content digest, ref) -> (provider ids of texts with exactly these words,
# how many other texts to the number carry the ref: ours, changed on the way, or not?)
SmsLookup = Callable[[str, datetime, str, str], tuple[list[str], int]]

AWAITING_LOOKUP = "outcome_unknown"
FOR_A_PERSON = "unresolved"


def reconcile_unconfirmed(
    ledger: Ledger, sms_lookup: SmsLookup | None, now: datetime, grace: timedelta
) -> dict[str, int]:
    counts: Counter[str] = Counter({"adopted": 0, "released": 0, "unknown": 0})
    settled_before = now - grace
    last_sign_of_life = func.coalesce(attempts.c.lease_until, attempts.c.claimed_at)
    # A claim is settled only while it is still unsettled and its lease still expired: checked again in
    # the statement that settles it, so a worker that renewed its lease meanwhile keeps its claim.
    still_unsettled = or_(
        and_(attempts.c.status == "claimed", last_sign_of_life <= settled_before),
        and_(
            attempts.c.status == "unknown",
            attempts.c.error_code == AWAITING_LOOKUP,
            attempts.c.completed_at <= settled_before,
        ),
    )
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(
                attempts.c.step_key,
                attempts.c.channel,
                attempts.c.status,
                attempts.c.claimed_at,
                planned_steps.c.contact_address,
                message_refs.c.ref,
                message_refs.c.content_digest,
            )
            .join(planned_steps, planned_steps.c.step_key == attempts.c.step_key)
            .outerjoin(message_refs, message_refs.c.step_key == attempts.c.step_key)
            .where(still_unsettled)
            .order_by(attempts.c.step_key)
        ).all()
    for step_key, channel, status, claimed_at, address, ref, digest in rows:
        if status == "claimed" and ref is None:
            outcome, detail = "released", None  # died before anything was handed to a provider
        elif channel == "sms" and sms_lookup is not None and address and digest:
            outcome, detail = _look_up(sms_lookup, address, utc(claimed_at), digest, ref)
        else:
            outcome, detail = "unknown", None
        if outcome == "later":
            continue
        this_one = and_(attempts.c.step_key == step_key, still_unsettled)
        # One short transaction per step: it never holds one row while waiting for another.
        with ledger.engine.begin() as conn:
            if outcome == "adopted":
                settled = conn.execute(
                    update(attempts)
                    .where(this_one)
                    .values(status="sent", provider_message_id=detail, error_code=None, error=None, completed_at=now)
                ).rowcount
                step_values = {"status": "sent", "status_reason": "found at the provider after an interrupted send"}
            elif outcome == "released":
                # The provider never took it: the claim goes and the step is sent normally.
                settled = conn.execute(delete(attempts).where(this_one)).rowcount
                step_values = {
                    "status": "pending",
                    "status_reason": "an interrupted send that never reached the provider",
                }
            else:
                reason = detail or (
                    "interrupted after it went to the provider, and the provider offers no lookup for this "
                    "channel: not re-sent; a person checks whether it arrived"
                )
                settled = conn.execute(
                    update(attempts)
                    .where(this_one)
                    .values(status="unknown", error_code=FOR_A_PERSON, error=reason, completed_at=now)
                ).rowcount
                step_values = {"status": "unknown", "status_reason": reason}
            if not settled:
                continue  # renewed, answered or settled by someone else since it was read
            conn.execute(update(planned_steps).where(planned_steps.c.step_key == step_key).values(**step_values))
        counts[outcome] += 1
    return dict(counts)


def _look_up(
    sms_lookup: SmsLookup, address: str, claimed_at: datetime, digest: str, ref: str
) -> tuple[str, str | None]:
    """What the provider's record says of one text: ``adopted`` (and its provider id), ``released``,
    ``unknown`` (and why), or ``later`` when the provider could not be asked now."""
    try:
        exact, carrying_ref = sms_lookup(address, claimed_at, digest, ref)
    except Exception:  # the provider unreachable for its list: asked again on the next run
        return "later", None
    if len(exact) == 1 and not carrying_ref:
        return "adopted", exact[0]
    if not exact and not carrying_ref:
        return "released", None
    return "unknown", (
        f"interrupted text: the provider holds {len(exact)} text(s) with exactly its words and {carrying_ref} "
        "other(s) carrying its link; not adopted, not re-sent: a person decides"
    )
