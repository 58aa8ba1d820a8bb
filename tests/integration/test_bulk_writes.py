"""The day's large writes (the plan's steps and decisions, the ladder's positions, the dispatch's status
changes) go through the fastest path each database has, and read back exactly as written."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import select

from outreach.ledger.bulk import insert_rows
from outreach.ledger.schema import decisions

DAY = date(2026, 11, 20)
REASONS = [
    "plain",
    'quoted "word", a comma, and a semicolon;',
    "two\nlines",
    "",
    "non-ASCII: 逾期 — ¿",
    "a trailing backslash \\",
]


def audit_row(n: int, reason: str, decided_at) -> dict:
    return {
        "decided_at": decided_at,
        "run_id": "r1",
        "business_date": DAY,
        "account_id": f"AC{n:05d}",
        "step_key": None if n % 2 else f"AC{n:05d}|m1|s|sms|{DAY}",
        "actor": "planner",
        "decision": "wait",
        "rule_ids": "US-7,TC-8" if n % 3 else "",
        "reason": reason,
    }


def stored(ledger) -> list[dict]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(decisions).order_by(decisions.c.account_id)).mappings().all()
    return [
        {
            **{k: v for k, v in row.items() if k not in ("id", "decided_at", "business_date")},
            "decided_at": pd.Timestamp(row["decided_at"]).tz_localize(None)
            if pd.Timestamp(row["decided_at"]).tzinfo is None
            else pd.Timestamp(row["decided_at"]).tz_convert(UTC).tz_localize(None),
            "business_date": pd.Timestamp(row["business_date"]).date(),
        }
        for row in rows
    ]


def test_rows_read_back_as_written_text_nulls_and_instants_included(ledger):
    at = datetime(2026, 11, 20, 14, 5, 6, 789000, tzinfo=UTC)
    rows = [audit_row(n, REASONS[n % len(REASONS)], at) for n in range(2500)]
    with ledger.engine.begin() as conn:
        insert_rows(conn, decisions, rows)
    expected = [
        {**row, "decided_at": pd.Timestamp(at).tz_convert(UTC).tz_localize(None)}
        for row in sorted(rows, key=lambda r: r["account_id"])
    ]
    assert stored(ledger) == expected


def test_an_instant_given_as_text_still_goes_in_on_postgresql(postgres_ledger):
    """PostgreSQL reads an instant written as text: the fast path gives such rows to it as they are."""
    ledger = postgres_ledger
    rows = [
        audit_row(1, "typed", datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
        audit_row(2, "as text", "2026-11-20 16:00:00+00:00"),
    ]
    with ledger.engine.begin() as conn:
        insert_rows(conn, decisions, rows)
    found = stored(ledger)
    assert [r["reason"] for r in found] == ["typed", "as text"]
    assert [r["decided_at"] for r in found] == [pd.Timestamp("2026-11-20 15:00"), pd.Timestamp("2026-11-20 16:00")]
