"""Ledger reads and writes for message refs: which step an opaque reference from outside stands for."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from outreach.ledger.bulk import unnested
from outreach.ledger.schema import message_refs, planned_steps

# A step key names account | campaign | stage | channel | date; a ref never holds the separator.
STEP_KEY_SEPARATOR = "|"


def content_digest(body: str) -> str:
    """What identifies one message's exact words (its links carry its own ref)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class RefRecords:
    engine: Engine

    def register_refs(self, rows: Sequence[dict[str, Any]]) -> None:
        """Remember each message's ref (``ref``, ``step_key``, ``account_id``, ``business_date``, and
        ``content_digest``) before it goes."""
        if not rows:
            return
        now = datetime.now(UTC)
        fresh = [{**row, "created_at": now} for row in rows]
        dialect_insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # One statement and one round trip for the batch, from its columns' arrays.
                new = unnested(message_refs, fresh)
                statement = dialect_insert(message_refs).from_select(
                    list(fresh[0]), select(*(new.c[name] for name in fresh[0]))
                )
                values: list[dict[str, Any]] | None = None
            else:
                statement, values = dialect_insert(message_refs), fresh
            # Sent again after a claim was given back: the ref stays, and the words that go now are the
            # ones to find.
            statement = statement.on_conflict_do_update(
                index_elements=["step_key"], set_={"content_digest": statement.excluded.content_digest}
            )
            conn.execute(statement, values)

    def message_ref(self, ref: str) -> dict[str, Any] | None:
        """The step a ref stands for, with its channel and contact address; None for an unknown ref."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(
                        message_refs,
                        planned_steps.c.channel,
                        planned_steps.c.contact_address,
                        planned_steps.c.campaign,
                    )
                    .join(planned_steps, planned_steps.c.step_key == message_refs.c.step_key)
                    .where(message_refs.c.ref == ref)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def sent_text_ref(self, business_date: date, account_id: str | None = None) -> dict[str, Any] | None:
        """The ref of a text that went on a date (to the account, when named): a link to try the page with."""
        query = (
            select(message_refs.c.ref, message_refs.c.account_id, planned_steps.c.stage)
            .join(planned_steps, planned_steps.c.step_key == message_refs.c.step_key)
            .where(
                message_refs.c.business_date == business_date,
                planned_steps.c.channel == "sms",
                planned_steps.c.status == "sent",
            )
            .order_by(message_refs.c.account_id)
            .limit(1)
        )
        if account_id is not None:
            query = query.where(message_refs.c.account_id == account_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def step_keys_for(self, steps: Sequence[str]) -> dict[str, str]:
        """``step_key_for`` of many at once: each ``step`` the ledger knows, with its step key."""
        found = {step: step for step in steps if STEP_KEY_SEPARATOR in step}
        refs = sorted({step for step in steps if STEP_KEY_SEPARATOR not in step})
        with self.engine.connect() as conn:
            for start in range(0, len(refs), 1000):
                query = select(message_refs.c.ref, message_refs.c.step_key).where(
                    message_refs.c.ref.in_(refs[start : start + 1000])
                )
                found.update((ref, key) for ref, key in conn.execute(query))
        return found

    def step_key_for(self, step: str) -> str | None:
        """The step key a provider callback's ``step`` names: a ref, or (sent before refs) the key itself."""
        return self.step_keys_for([step]).get(step)
