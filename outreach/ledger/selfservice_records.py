"""Ledger reads and writes for the debtor's self-service page: codes, actions, preferences.

An action and everything it changes (a promise, a hold, work for a person, a preference, the
pending steps it stops, the funnel's event) are written in one transaction under the form's
one-time key, so a double-submitted form, or one retried after a lost answer, is one action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from outreach.ledger.ladder_records import insert_promise
from outreach.ledger.schema import (
    account_snapshots,
    contact_preferences,
    decisions,
    events,
    handoffs,
    planned_steps,
    selfservice_actions,
    selfservice_codes,
    suppressions,
)

SELF_SERVICE = "self_service"
FUNNEL_EVENT = "self_service"


def hold_pending_steps(
    conn: Any, account_id: str, reason: str, at: datetime, run_id: str, actor: str
) -> list[tuple[str, date]]:
    """Hold the account's steps still pending, each with ``reason`` in the audit trail."""
    pending = and_(planned_steps.c.account_id == account_id, planned_steps.c.status == "pending")
    stopped = [
        tuple(row)
        for row in conn.execute(select(planned_steps.c.step_key, planned_steps.c.business_date).where(pending))
    ]
    if stopped:
        conn.execute(update(planned_steps).where(pending).values(status="held", status_reason=reason))
        conn.execute(
            insert(decisions),
            [
                {
                    "decided_at": at,
                    "run_id": run_id[:64],
                    "business_date": business_date,
                    "account_id": account_id,
                    "step_key": step_key,
                    "actor": actor,
                    "decision": "held",
                    "rule_ids": "",
                    "reason": reason,
                }
                for step_key, business_date in stopped
            ],
        )
    return stopped


@dataclass
class ActionEffects:
    """What one self-service action changes besides its own record."""

    promise: dict[str, Any] | None = None
    suppressions: list[dict[str, Any]] = field(default_factory=list)
    handoff: dict[str, Any] | None = None
    preferences: dict[str, Any] | None = None
    # The account's pending steps are held with this reason (a promise or a dispute pauses at once).
    hold_reason: str | None = None


class SelfServiceRecords:
    engine: Engine

    # -- verification codes ------------------------------------------------------------------

    def add_code(self, ref: str, address_digest: str, code_digest: str, at: datetime, expires_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(selfservice_codes).values(
                    ref=ref,
                    address_digest=address_digest,
                    code_digest=code_digest,
                    created_at=at,
                    expires_at=expires_at,
                    attempts=0,
                )
            )

    def codes_sent_since(self, since: datetime, ref: str | None = None, address_digest: str | None = None) -> int:
        query = select(func.count()).select_from(selfservice_codes).where(selfservice_codes.c.created_at >= since)
        if ref is not None:
            query = query.where(selfservice_codes.c.ref == ref)
        if address_digest is not None:
            query = query.where(selfservice_codes.c.address_digest == address_digest)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def failed_code_attempts_since(self, since: datetime, address_digest: str) -> int:
        """Wrong codes typed for a number, over every link that texted it."""
        query = select(func.coalesce(func.sum(selfservice_codes.c.attempts), 0)).where(
            and_(
                selfservice_codes.c.address_digest == address_digest,
                selfservice_codes.c.created_at >= since,
                selfservice_codes.c.used_at.is_(None),
            )
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def use_code(self, ref: str, code_digest: str, at: datetime, max_attempts: int) -> str:
        """Try a typed code against the link's latest code: ``ok``, ``wrong``, ``locked``, ``expired``,
        ``used`` or ``none``. A right code works once; every wrong one counts against the limit."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    select(selfservice_codes)
                    .where(selfservice_codes.c.ref == ref)
                    .order_by(selfservice_codes.c.id.desc())
                    .limit(1)
                    .with_for_update()
                )
                .mappings()
                .first()
            )
            if row is None:
                return "none"
            if row["used_at"] is not None:
                return "used"
            if row["attempts"] >= max_attempts:
                return "locked"
            expires_at = row["expires_at"]
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=at.tzinfo)
            if at > expires_at:
                return "expired"
            if row["code_digest"] != code_digest:
                conn.execute(
                    update(selfservice_codes)
                    .where(selfservice_codes.c.id == row["id"])
                    .values(attempts=selfservice_codes.c.attempts + 1)
                )
                return "locked" if row["attempts"] + 1 >= max_attempts else "wrong"
            conn.execute(update(selfservice_codes).where(selfservice_codes.c.id == row["id"]).values(used_at=at))
            return "ok"

    # -- the funnel ----------------------------------------------------------------------------

    def add_funnel_event(
        self, key: str, account_id: str, step_key: str, outcome: str, at: datetime, detail: dict | None = None
    ) -> bool:
        """One step of the self-service funnel (opened, verified, an action), once per ``key``."""
        with self.engine.begin() as conn:
            return _funnel_event(conn, key, account_id, step_key, outcome, at, detail)

    # -- actions ---------------------------------------------------------------------------------

    def selfservice_action(self, request_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(selfservice_actions).where(selfservice_actions.c.request_key == request_key))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def add_selfservice_action(
        self, action: dict[str, Any], step_key: str, effects: ActionEffects, run_id: str
    ) -> tuple[dict[str, Any], bool]:
        """Record the action and its effects at once; (the action's row, False) when its key was used before."""
        at = action["created_at"]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(selfservice_actions).values(**action))
                if effects.promise is not None:
                    insert_promise(conn, effects.promise)
                if effects.suppressions:
                    conn.execute(insert(suppressions), effects.suppressions)
                if effects.handoff is not None:
                    conn.execute(insert(handoffs).values(**effects.handoff))
                if effects.preferences is not None:
                    _save_preferences(conn, action["account_id"], effects.preferences, at)
                if effects.hold_reason:
                    hold_pending_steps(conn, action["account_id"], effects.hold_reason, at, run_id, SELF_SERVICE)
                _funnel_event(
                    conn,
                    f"action:{action['request_key']}",
                    action["account_id"],
                    step_key,
                    action["action"],
                    at,
                    {"reference": action["reference"]},
                )
        except IntegrityError:
            earlier = self.selfservice_action(action["request_key"])
            if earlier is None:
                raise
            return earlier, False
        return action, True

    # -- plan requests answered by a person ------------------------------------------------------

    def take_plan_requests(self, limit: int) -> list[dict[str, Any]]:
        """Open requests for another repayment plan, oldest first, each taken by this caller only.

        A request taken waits for a person's answer (``awaiting_approval``); two runs that look at
        once never ask about the same request twice.
        """
        query = (
            select(selfservice_actions, handoffs.c.id.label("handoff_id"))
            .join(
                handoffs,
                handoffs.c.step_key
                == selfservice_actions.c.account_id + "|self-service|" + selfservice_actions.c.reference,
            )
            .where(selfservice_actions.c.action == "plan_request", handoffs.c.status == "open")
            .order_by(selfservice_actions.c.id)
            .limit(limit)
        )
        taken = []
        with self.engine.begin() as conn:
            for row in conn.execute(query).mappings().all():
                claimed = conn.execute(
                    update(handoffs)
                    .where(handoffs.c.id == row["handoff_id"], handoffs.c.status == "open")
                    .values(status="awaiting_approval")
                )
                if claimed.rowcount == 1:
                    taken.append(dict(row))
        return taken

    def settle_plan_request(
        self,
        handoff_id: int,
        status: str,
        decided_by: str | None,
        at: datetime,
        note: str,
        promise: dict[str, Any] | None = None,
        hold_reason: str | None = None,
    ) -> None:
        """A person's answer: the handoff's new status and note, and the plan they set up, if any."""
        with self.engine.begin() as conn:
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == handoff_id)
                .values(status=status, decided_by=decided_by, decided_at=at if decided_by else None, decision_note=note)
            )
            if promise is not None:
                insert_promise(conn, promise)
                if hold_reason:
                    hold_pending_steps(
                        conn, promise["account_id"], hold_reason, at, "plan-request", decided_by or "ops"
                    )

    # -- the account as last pulled --------------------------------------------------------------

    def latest_account(self, account_id: str) -> dict[str, Any] | None:
        """The account's row of the newest snapshot that has it, with the facts ``snapshot`` adds."""
        query = select(func.max(account_snapshots.c.business_date)).where(account_snapshots.c.account_id == account_id)
        with self.engine.connect() as conn:
            latest = conn.execute(query).scalar()
        if latest is None:
            return None
        return self.accounts_on(latest, [account_id]).get(account_id)  # type: ignore[attr-defined]

    # -- contact preferences -----------------------------------------------------------------

    def contact_preferences_of(self, account_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(contact_preferences).where(contact_preferences.c.account_id == account_id))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def with_contact_preferences(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The snapshot with the language and inconvenient times each debtor chose (``inconvenient_times``)."""
        with self.engine.connect() as conn:
            chosen = pd.read_sql(select(contact_preferences), conn)
        if frame.empty:
            return frame
        frame = frame.copy()
        frame["inconvenient_times"] = None
        if chosen.empty:
            return frame
        by_account = chosen.set_index("account_id")
        rows = frame["account_id"].isin(by_account.index)
        if not rows.any():
            return frame
        ids = frame.loc[rows, "account_id"]
        locale = ids.map(by_account["locale"])
        frame.loc[rows, "locale"] = locale.where(locale.notna(), frame.loc[rows, "locale"])
        frame.loc[rows, "inconvenient_times"] = ids.map(by_account["inconvenient_times"])
        return frame


def _funnel_event(
    conn: Any, key: str, account_id: str, step_key: str, outcome: str, at: datetime, detail: dict | None
) -> bool:
    provider_event_id = f"self-service:{key}"[:128]
    if conn.execute(select(events.c.id).where(events.c.provider_event_id == provider_event_id)).first():
        return False
    conn.execute(
        insert(events).values(
            account_id=account_id,
            step_key=step_key,
            channel=None,
            kind=FUNNEL_EVENT,
            outcome=outcome,
            provider_event_id=provider_event_id,
            occurred_at=at,
            recorded_at=at,
            payload=detail or {},
            # Nothing for the events DAG to do: what an action changes is written with it.
            reacted_at=at,
        )
    )
    return True


def _save_preferences(conn: Any, account_id: str, preferences: dict[str, Any], at: datetime) -> None:
    values = {
        "locale": preferences.get("locale"),
        "inconvenient_times": preferences.get("inconvenient_times") or [],
        "updated_at": at,
        "source": SELF_SERVICE,
    }
    if conn.execute(
        select(contact_preferences.c.account_id).where(contact_preferences.c.account_id == account_id)
    ).first():
        conn.execute(update(contact_preferences).where(contact_preferences.c.account_id == account_id).values(**values))
    else:
        conn.execute(insert(contact_preferences).values(account_id=account_id, **values))
