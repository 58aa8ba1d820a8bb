"""What a debt collector's accounts need beyond the day's snapshot: when the consumer was first
communicated with, and when the validation notice went (12 CFR 1006.34, rulebook US-21).

Read from every attempt the ledger holds, not the contact policy's few days of history, so an
account communicated with long ago is judged by its real first communication.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select

from outreach.ledger.schema import attempts, planned_steps
from outreach.template_checks import VALIDATION_NOTICES

DEBT_COLLECTORS = ("third_party", "debt_buyer")
# Sends that conveyed something: a text, email or letter not known lost, or a call that reached a person.
LOST = ("failed", "undelivered", "bounced", "claimed")
CHUNK = 1000


def _first(conn: Any, condition: Any, account_ids: list[str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for start in range(0, len(account_ids), CHUNK):
        rows = conn.execute(
            # When its window opened: the instant it went on its business day, also when a past day is replayed.
            select(attempts.c.account_id, func.min(func.coalesce(planned_steps.c.window_start, attempts.c.claimed_at)))
            .join(planned_steps, planned_steps.c.step_key == attempts.c.step_key)
            .where(attempts.c.account_id.in_(account_ids[start : start + CHUNK]), condition)
            .group_by(attempts.c.account_id)
        )
        found.update({account: at.replace(tzinfo=UTC) if at.tzinfo is None else at for account, at in rows})
    return found


class CollectorRecords:
    engine: Engine

    def with_collector_facts(self, snapshot: pd.DataFrame) -> pd.DataFrame:
        """The snapshot with ``initial_communication_at`` and ``validation_notice_at`` for a debt
        collector's accounts; unchanged when it holds none (a bank collecting its own debts)."""
        if snapshot.empty or "collector_type" not in snapshot:
            return snapshot
        ids = sorted(snapshot.loc[snapshot["collector_type"].isin(DEBT_COLLECTORS), "account_id"])
        if not ids:
            return snapshot
        communicated = or_(
            and_(attempts.c.channel.in_(["sms", "email", "letter"]), attempts.c.status.not_in(LOST)),
            and_(attempts.c.channel == "voice", attempts.c.status == "connected"),
        )
        noticed = and_(planned_steps.c.template.in_(sorted(VALIDATION_NOTICES)), attempts.c.status.not_in(LOST))
        with self.engine.connect() as conn:
            first = _first(conn, communicated, ids)
            notice = _first(conn, noticed, ids)
        frame = snapshot.copy()
        # Objects, None where unknown: a missing instant must read as "none on record", never as NaT.
        frame["initial_communication_at"] = pd.Series([first.get(a) for a in frame["account_id"]], frame.index, object)
        frame["validation_notice_at"] = pd.Series([notice.get(a) for a in frame["account_id"]], frame.index, object)
        return frame
