"""Ledger reads and writes for the ladder: positions, outcomes, promises, payments, hand-offs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, bindparam, delete, func, insert, select, update

from outreach.ladder import Handoff, History, Position, Promise, StepOutcome
from outreach.ledger.bulk import insert_rows, refresh_statistics
from outreach.ledger.bulk_reads import read_table
from outreach.ledger.id_lists import in_slices, one_of
from outreach.ledger.schema import (
    ATTORNEY_ANSWER,
    attempts,
    events,
    handoffs,
    ladder_states,
    payments,
    planned_steps,
    promises,
)
from outreach.ledger.step_shards import in_shard, with_account_hash
from outreach.repayment_plans import Instalment
from outreach.shards import Shard

# Inbound contact that counts as the debtor responding.
RESPONSE_KINDS = ("inbound", "conversation", "keypress", "reply")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def instalments_to_json(instalments: Sequence[Instalment] | None) -> list[dict[str, Any]] | None:
    """A repayment plan's instalments as the ledger keeps them; None for a promise to pay once."""
    if not instalments:
        return None
    return [{"due_on": i.due_on.isoformat(), "amount_minor": int(i.amount_minor)} for i in instalments]


def insert_promise(conn: Any, promise: dict[str, Any]) -> int:
    """Record an open promise in the caller's transaction, replacing the account's earlier open one."""
    conn.execute(
        update(promises)
        .where(and_(promises.c.account_id == promise["account_id"], promises.c.status == "open"))
        .values(status="cancelled", resolved_on=promise["recorded_at"].date(), note="replaced by a newer promise")
    )
    return int(conn.execute(insert(promises).values(**promise, status="open")).inserted_primary_key[0])


def instalments_from_json(value: Any) -> tuple[Instalment, ...]:
    if not value:
        return ()
    return tuple(Instalment(due_on=_day(i["due_on"]), amount_minor=int(i["amount_minor"])) for i in value)


def insert_payment_once(conn: Any, **values: Any) -> bool:
    """Insert a payment in the caller's transaction unless its reference is there already; True when new."""
    reference = values.get("reference")
    if reference is not None and conn.execute(select(payments.c.id).where(payments.c.reference == reference)).first():
        return False
    conn.execute(insert(payments).values(**values))
    return True


class LadderRecords:
    engine: Engine

    # -- positions ---------------------------------------------------------------------

    def positions(self, account_ids: Iterable[str] | None = None, shard: Shard | None = None) -> dict[str, Position]:
        """Each account's ladder position (of the named accounts, of one shard of the book)."""
        # The columns in the order of the position's fields: each row is a position as it comes.
        query = select(*(ladder_states.c[name] for name in Position.__dataclass_fields__))
        if account_ids is not None:
            query = query.where(ladder_states.c.account_id.in_(list(account_ids)))
        if shard is not None and not shard.whole:
            query = query.where(in_shard(shard, ladder_states))
        with self.engine.connect() as conn:
            found = read_table(conn, query)
        return {row[0]: Position(*row) for row in zip(*(column.to_pylist() for column in found.columns), strict=True)}

    def save_positions(self, moved: Sequence[Position]) -> None:
        if not moved:
            return
        now = datetime.now(UTC)
        rows = with_account_hash([{**p.as_row(), "updated_at": now} for p in moved])
        ids = [r["account_id"] for r in rows]
        deleted = 0
        with self.engine.begin() as conn:
            for part in in_slices(ids, conn.dialect.name):
                replaced = delete(ladder_states).where(one_of(ladder_states.c.account_id, part, conn.dialect.name))
                deleted += conn.execute(replaced).rowcount
            insert_rows(conn, ladder_states, rows)
        with self.engine.begin() as conn:
            # A position moved replaces the account's row: only the accounts new to the ladder grow the table.
            refresh_statistics(conn, ladder_states.name, written=len(rows) - deleted)

    def positions_seen(self, account_ids: Sequence[str], on: date) -> None:
        """The accounts' positions, unchanged but for being seen again ``on`` a day: updated in place, a
        slice of ids per statement, rather than each row deleted and written again with its indexes."""
        if not account_ids:
            return
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for part in in_slices(list(account_ids), conn.dialect.name):
                conn.execute(
                    update(ladder_states)
                    .where(one_of(ladder_states.c.account_id, part, conn.dialect.name))
                    .values(last_seen_on=on, updated_at=now)
                )

    def most_moved_account(self) -> str | None:
        """The account that reached the most ladder stages with a contact that went out: one to explain."""
        query = (
            select(planned_steps.c.account_id)
            .join(attempts, attempts.c.step_key == planned_steps.c.step_key)
            .where(attempts.c.status.not_in(["failed", "undelivered", "bounced", "claimed"]))
            .group_by(planned_steps.c.account_id)
            .order_by(func.count(planned_steps.c.stage.distinct()).desc(), planned_steps.c.account_id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    # -- what happened ----------------------------------------------------------------------

    def histories(self, campaign: str, since: date, until: date, shard: Shard | None = None) -> dict[str, History]:
        """Each account's ladder history for ``campaign`` from ``since`` up to and including ``until``
        (of one shard of the book's accounts, with ``shard``)."""
        result: dict[str, History] = defaultdict(History)
        steps = (
            select(
                planned_steps.c.account_id,
                planned_steps.c.stage,
                planned_steps.c.channel,
                planned_steps.c.business_date,
                planned_steps.c.status,
                planned_steps.c.decision,
                planned_steps.c.reason,
                planned_steps.c.rule_ids,
                attempts.c.status.label("attempt"),
                attempts.c.error,
            )
            .join(attempts, attempts.c.step_key == planned_steps.c.step_key, isouter=True)
            .where(
                and_(
                    planned_steps.c.campaign == campaign,
                    planned_steps.c.business_date >= since,
                    planned_steps.c.business_date <= until,
                )
            )
        )
        if shard is not None and not shard.whole:
            # A year of steps is most of what a history reads: the database keeps the shard's own.
            steps = steps.where(in_shard(shard))
        with self.engine.connect() as conn:
            by_account: dict[str, list[StepOutcome]] = defaultdict(list)
            # A year of a round's steps: read as columns, each step built from its row's values.
            found = read_table(conn, steps)
            for account_id, stage, channel, on, status, decision, reason, rule_ids, attempt, error in zip(
                *(column.to_pylist() for column in found.columns), strict=True
            ):
                by_account[account_id].append(
                    StepOutcome(
                        stage=stage,
                        channel=channel,
                        business_date=on,
                        status=status,
                        decision=decision,
                        attempt=attempt,
                        reason=error if attempt else reason,
                        rules=rule_ids or "",
                    )
                )
            for account_id, outcomes in by_account.items():
                result[account_id].steps = outcomes

            rows = conn.execute(
                select(handoffs).where(and_(handoffs.c.campaign == campaign, handoffs.c.business_date >= since))
            ).mappings()
            grouped: dict[str, list[Handoff]] = defaultdict(list)
            for row in rows:
                grouped[row["account_id"]].append(
                    Handoff(
                        stage=row["stage"],
                        kind=row["kind"],
                        status=row["status"],
                        business_date=_day(row["business_date"]),
                        decided_by=row["decided_by"],
                        decided_at=row["decided_at"],
                        decision_note=row["decision_note"],
                    )
                )
            for account_id, items in grouped.items():
                result[account_id].handoffs = items

            responded: dict[str, list[date]] = defaultdict(list)
            for account_id, at in conn.execute(
                select(events.c.account_id, events.c.occurred_at).where(
                    and_(
                        events.c.kind.in_(RESPONSE_KINDS),
                        events.c.occurred_at >= datetime.combine(since, datetime.min.time(), UTC),
                    )
                )
            ):
                if account_id and _day(at) <= until:
                    responded[account_id].append(_day(at))
            for account_id, days in responded.items():
                result[account_id].responses = days

            open_promises: dict[str, list[Promise]] = defaultdict(list)
            for row in conn.execute(select(promises).where(promises.c.status == "open")).mappings():
                open_promises[row["account_id"]].append(
                    Promise(
                        id=row["id"],
                        promised_on=_day(row["promised_on"]),
                        amount_minor=int(row["amount_minor"]),
                        recorded_on=_day(row["recorded_at"]),
                        currency=row["currency"],
                        instalments=instalments_from_json(row["instalments"]),
                    )
                )

            paid: dict[str, list[tuple[date, int]]] = defaultdict(list)
            # A repayment plan can run longer than the history looked at: its account's payments
            # count from the day it was made, however long ago.
            older = {
                account_id: min(p.recorded_on for p in items)
                for account_id, items in open_promises.items()
                if min(p.recorded_on for p in items) < since
            }
            if older:
                for account_id, paid_on, amount in conn.execute(
                    select(payments.c.account_id, payments.c.paid_on, payments.c.amount_minor).where(
                        and_(
                            payments.c.account_id.in_(bindparam("ids", expanding=True)),
                            payments.c.paid_on >= min(older.values()),
                            payments.c.paid_on < since,
                        )
                    ),
                    {"ids": list(older)},
                ):
                    if _day(paid_on) >= older[account_id]:
                        paid[account_id].append((_day(paid_on), int(amount)))
            for account_id, paid_on, amount in conn.execute(
                select(payments.c.account_id, payments.c.paid_on, payments.c.amount_minor).where(
                    and_(payments.c.paid_on >= since, payments.c.paid_on <= until)
                )
            ):
                paid[account_id].append((_day(paid_on), int(amount)))
            for account_id, items in paid.items():
                result[account_id].payments = items

            for account_id, items in open_promises.items():
                result[account_id].promises = items
        if shard is not None and not shard.whole:
            return {account_id: history for account_id, history in result.items() if shard.holds(account_id)}
        return dict(result)

    # -- promises and payments -------------------------------------------------------------

    def add_promise(
        self,
        account_id: str,
        promised_on: date,
        amount_minor: int,
        currency: str,
        source: str,
        recorded_by: str,
        note: str | None = None,
        recorded_at: datetime | None = None,
        instalments: Sequence[Instalment] | None = None,
    ) -> int:
        """Record a promise to pay; an earlier open promise of the account is replaced by it.

        A repayment plan is one promise with ``instalments`` (in order): ``promised_on`` is the last
        instalment's date and ``amount_minor`` their total.
        """
        if instalments:
            if promised_on != instalments[-1].due_on:
                raise ValueError(f"a plan is promised on its last due date {instalments[-1].due_on}, not {promised_on}")
            if amount_minor != sum(i.amount_minor for i in instalments):
                raise ValueError(
                    f"a plan's amount is its instalments' total {sum(i.amount_minor for i in instalments)}, "
                    f"not {amount_minor}"
                )
        promise = {
            "account_id": account_id,
            "promised_on": promised_on,
            "amount_minor": amount_minor,
            "currency": currency,
            "source": source,
            "recorded_by": recorded_by,
            "recorded_at": recorded_at or datetime.now(UTC),
            "note": note,
            "instalments": instalments_to_json(instalments),
        }
        with self.engine.begin() as conn:
            return insert_promise(conn, promise)

    def settle_promises(self, updates: Sequence[dict[str, Any]]) -> None:
        if not updates:
            return
        statement = (
            update(promises)
            .where(promises.c.id == bindparam("promise_id"))
            .values(status=bindparam("new_status"), resolved_on=bindparam("day"))
        )
        with self.engine.begin() as conn:
            conn.execute(
                statement,
                [{"promise_id": u["id"], "new_status": u["status"], "day": u["resolved_on"]} for u in updates],
            )

    def promises_of(self, account_id: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(
                select(promises).where(promises.c.account_id == account_id).order_by(promises.c.id), conn
            )

    def add_payment(
        self,
        account_id: str,
        paid_on: date,
        amount_minor: int,
        currency: str,
        source: str,
        reference: str | None = None,
    ) -> bool:
        """Record a payment; False when its reference was recorded before (a redelivered notice)."""
        with self.engine.begin() as conn:
            return insert_payment_once(
                conn,
                account_id=account_id,
                paid_on=paid_on,
                amount_minor=amount_minor,
                currency=currency,
                source=source,
                reference=reference,
                recorded_at=datetime.now(UTC),
            )

    def add_attorney_answer(
        self, account_id: str, answered_at: datetime, how: str, recorded_by: str, note: str | None = None
    ) -> None:
        """Record that a represented debtor's attorney answered us some way the ledger does not see (a
        letter, a call to an agent): the contact policy reads it as the attorney's answer however old,
        so contact with the debtor does not resume on the attorney's supposed silence (US-19)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(events).values(
                    account_id=account_id,
                    channel=how,
                    kind=ATTORNEY_ANSWER,
                    occurred_at=answered_at,
                    recorded_at=now,
                    payload={"recorded_by": recorded_by, "note": note},
                    # Nothing for the events DAG to do: the answer matters to the next decision only.
                    reacted_at=now,
                )
            )

    # -- hand-offs ---------------------------------------------------------------------

    def add_handoffs(self, rows: Sequence[dict[str, Any]]) -> int:
        """Record hand-offs; ones already recorded under the same step key are left as they are."""
        if not rows:
            return 0
        with self.engine.begin() as conn:
            known = set(
                conn.execute(
                    select(handoffs.c.step_key).where(handoffs.c.step_key.in_(bindparam("keys", expanding=True))),
                    {"keys": [r["step_key"] for r in rows]},
                ).scalars()
            )
            fresh = [r for r in rows if r["step_key"] not in known]
            if fresh:
                conn.execute(insert(handoffs), fresh)
        return len(fresh)

    def handoffs(
        self, kind: Sequence[str] | None = None, status: Sequence[str] | None = None, campaign: str | None = None
    ) -> pd.DataFrame:
        query = select(handoffs)
        if kind is not None:
            query = query.where(handoffs.c.kind.in_(list(kind)))
        if status is not None:
            query = query.where(handoffs.c.status.in_(list(status)))
        if campaign is not None:
            query = query.where(handoffs.c.campaign == campaign)
        with self.engine.connect() as conn:
            return pd.read_sql(query.order_by(handoffs.c.id), conn)

    def decide_handoffs(self, updates: Sequence[dict[str, Any]]) -> None:
        """Apply people's decisions: each update has id, status, decided_by, decided_at, note, output_file."""
        if not updates:
            return
        statement = (
            update(handoffs)
            .where(handoffs.c.id == bindparam("handoff_id"))
            .values(
                status=bindparam("new_status"),
                decided_by=bindparam("by"),
                decided_at=bindparam("at"),
                decision_note=bindparam("note"),
                output_file=bindparam("file"),
            )
        )
        with self.engine.begin() as conn:
            conn.execute(
                statement,
                [
                    {
                        "handoff_id": u["id"],
                        "new_status": u["status"],
                        "by": u.get("decided_by"),
                        "at": u.get("decided_at"),
                        "note": u.get("note"),
                        "file": u.get("output_file"),
                    }
                    for u in updates
                ],
            )


def ladder_frames(engine: Engine, campaign: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(positions, accounts contacted, payments) of a campaign, for its report."""
    with engine.connect() as conn:
        positions = pd.read_sql(select(ladder_states).where(ladder_states.c.campaign == campaign), conn)
        contacted = pd.read_sql(
            select(attempts.c.account_id)
            .join(planned_steps, attempts.c.step_key == planned_steps.c.step_key)
            .where(
                and_(
                    planned_steps.c.campaign == campaign,
                    attempts.c.status.not_in(["failed", "undelivered", "bounced", "claimed"]),
                    planned_steps.c.channel.in_(["sms", "email", "voice"]),
                )
            )
            .distinct(),
            conn,
        )
        paid = pd.read_sql(select(payments.c.account_id, payments.c.paid_on), conn)
    return positions, contacted, paid
