"""The day's large writes (the plan's steps and decisions, the ladder's positions, the dispatch's status
changes) go through the fastest path each database has, and read back exactly as written."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import psycopg2
import pyarrow as pa
import pytest
from sqlalchemy import select, update

from outreach.ledger.bulk import insert_rows, insert_table, refresh_statistics
from outreach.ledger.schema import attempts, decisions, planned_steps

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


PLANNED_AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
OPENS = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 20, 15, 30, 0, 250000, tzinfo=UTC)
STEPS = 60


def planned_step(n: int, window_start: datetime) -> dict:
    return {
        "step_key": f"AC{n:05d}|m1|s|sms|{DAY}",
        "run_id": "r1",
        "business_date": DAY,
        "account_id": f"AC{n:05d}",
        "campaign": "m1",
        "stage": "s",
        "channel": "sms",
        "template": "t",
        "contact_address": f"+1555{n:07d}",
        "decision": "send",
        "rule_ids": "",
        "reason": "due",
        "window_start": window_start,
        "window_end": None,
        "status": "pending",
        "status_reason": None,
        "planned_at": PLANNED_AT,
        "account_hash": n,
    }


def planned(ledger) -> list[str]:
    """STEPS pending steps, every one's window opening at OPENS; their keys."""
    steps = [planned_step(n, OPENS) for n in range(STEPS)]
    with ledger.engine.begin() as conn:
        insert_rows(conn, planned_steps, steps)
    return [step["step_key"] for step in steps]


def instant(value) -> pd.Timestamp | None:
    """An instant as either database hands it back (SQLite: naive UTC, or aware), as one aware value."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)


def stored_steps(ledger) -> dict[str, tuple]:
    query = select(
        planned_steps.c.step_key, planned_steps.c.status, planned_steps.c.status_reason, planned_steps.c.window_start
    )
    with ledger.engine.connect() as conn:
        return {key: (status, reason, instant(start)) for key, status, reason, start in conn.execute(query)}


def test_step_status_changes_read_back_as_written_and_a_window_given_as_none_is_kept(ledger):
    keys = planned(ledger)
    # Every step but the last changes; reasons awkward or null, and a window only for every third.
    updates = [
        {
            "step_key": key,
            "status": "sent" if n % 2 else "pending",
            "status_reason": None if n % 7 == 0 else REASONS[n % len(REASONS)],
            "window_start": LATER if n % 3 == 0 else None,
        }
        for n, key in enumerate(keys[:-1])
    ]
    ledger.set_step_status(updates)
    expected = {u["step_key"]: (u["status"], u["status_reason"], instant(u["window_start"] or OPENS)) for u in updates}
    expected[keys[-1]] = ("pending", None, instant(OPENS))
    assert stored_steps(ledger) == expected


def test_a_step_changed_twice_in_one_call_ends_as_the_changes_in_order_leave_it(ledger):
    first, second, *_ = planned(ledger)
    ledger.set_step_status(
        [
            {"step_key": first, "status": "pending", "status_reason": "waiting", "window_start": LATER},
            {"step_key": second, "status": "held", "status_reason": "paid", "window_start": None},
            {"step_key": first, "status": "expired", "status_reason": "not today", "window_start": None},
        ]
    )
    found = stored_steps(ledger)
    assert found[first] == ("expired", "not today", instant(LATER))
    assert found[second] == ("held", "paid", instant(OPENS))


def stored_attempts(ledger) -> dict[str, tuple]:
    query = select(
        attempts.c.step_key,
        attempts.c.status,
        attempts.c.provider_message_id,
        attempts.c.error_code,
        attempts.c.error,
        attempts.c.segments,
        attempts.c.completed_at,
    )
    with ledger.engine.connect() as conn:
        return {row[0]: (*row[1:6], row[6] is not None) for row in conn.execute(query)}


def claimed(ledger, keys: list[str]) -> None:
    won = ledger.claim([{"step_key": key, "account_id": key.split("|")[0], "channel": "sms"} for key in keys], "r1")
    assert won == set(keys)


def test_provider_outcomes_read_back_as_written_and_a_callbacks_outcome_stands(ledger):
    keys = planned(ledger)
    claimed(ledger, keys)
    # Receipts that landed before the sends' own answers were recorded.
    delivered = set(keys[::5])
    with ledger.engine.begin() as conn:
        conn.execute(update(attempts).where(attempts.c.step_key.in_(delivered)).values(status="delivered"))
    results = [
        {
            "step_key": key,
            "status": "failed" if n % 4 == 0 else "sent",
            "provider_message_id": None if n % 4 == 0 else f"SM{n:032x}",
            "error_code": "30007" if n % 4 == 0 else None,
            "error": REASONS[n % len(REASONS)] if n % 4 == 0 else None,
            "segments": None if n % 3 == 0 else n % 3,
        }
        for n, key in enumerate(keys[:-1])
    ]
    ledger.complete_attempts(results)
    expected = {
        r["step_key"]: (
            "delivered" if r["step_key"] in delivered else r["status"],
            r["provider_message_id"],
            r["error_code"],
            r["error"],
            r["segments"],
            True,
        )
        for r in results
    }
    expected[keys[-1]] = ("claimed", None, None, None, None, False)
    assert stored_attempts(ledger) == expected


def test_an_attempt_completed_twice_in_one_call_keeps_the_first_outcome_and_the_last_details(ledger):
    key, *_ = planned(ledger)
    claimed(ledger, [key])
    ledger.complete_attempts(
        [
            {"step_key": key, "status": "unknown", "error": "timed out"},
            {"step_key": key, "status": "sent", "provider_message_id": "SM1", "segments": 2},
        ]
    )
    assert stored_attempts(ledger)[key] == ("unknown", "SM1", None, None, 2, True)


def test_a_messages_ref_is_kept_when_it_is_sent_again_and_its_words_are_the_new_ones(ledger):
    keys = planned(ledger)[:3]
    claimed(ledger, keys)
    ledger.register_refs(
        [
            {"ref": f"ref-{n}", "step_key": key, "account_id": key.split("|")[0], "business_date": DAY}
            | {"content_digest": f"first words {n}"}
            for n, key in enumerate(keys[:2])
        ]
    )
    # The first message's claim was given back and it goes again, beside a message registered now.
    ledger.register_refs(
        [
            {"ref": f"again-{n}", "step_key": key, "account_id": key.split("|")[0], "business_date": DAY}
            | {"content_digest": f"{REASONS[n]} words"}
            for n, key in enumerate([keys[0], keys[2]])
        ]
    )
    assert ledger.message_ref("ref-0")["content_digest"] == f"{REASONS[0]} words"
    assert ledger.message_ref("ref-1")["content_digest"] == "first words 1"
    assert ledger.message_ref("again-1")["step_key"] == keys[2]
    assert ledger.message_ref("again-0") is None


def test_a_small_write_into_a_large_table_keeps_its_statistics_and_a_large_one_refreshes_them(postgres_ledger):
    def believed(conn) -> float:
        return conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'events'::regclass").scalar()

    def write(conn, rows: int, start: int) -> None:
        conn.exec_driver_sql(
            "INSERT INTO events (kind, occurred_at, recorded_at) "
            f"SELECT 'payment', now(), now() FROM generate_series({start}, {start + rows - 1})"
        )

    with postgres_ledger.engine.begin() as conn:
        write(conn, 10_000, 0)
        refresh_statistics(conn, "events", written=10_000)
        assert believed(conn) == 10_000, "a first write into an empty table is always counted"
        write(conn, 500, 10_000)
        refresh_statistics(conn, "events", written=500)
        assert believed(conn) == 10_000, "a twentieth more leaves the estimate as it was"
        write(conn, 5_000, 10_500)
        refresh_statistics(conn, "events", written=5_000)
        assert believed(conn) == 15_500


def test_every_kind_of_column_reads_back_as_written_whichever_copy_form_takes_it(postgres_ledger):
    """Columns of every kind the ledger keeps go in by COPY's binary form, a JSON column by its CSV;
    both read back as written, nulls, awkward text and the edges of each number included."""
    columns = (
        "small smallint, whole integer, big bigint, flag boolean, day date, at timestamptz, "
        "naive timestamp, ratio double precision, label varchar(40), words text"
    )
    rows = pa.table(
        {
            "small": pa.array([-32768, None, 32767], pa.int64()),
            "whole": pa.array([-(2**31), 0, 2**31 - 1], pa.int64()),
            "big": pa.array([-(2**63), None, 2**63 - 1], pa.int64()),
            "flag": pa.array([True, None, False]),
            "day": pa.array([date(1999, 12, 31), date(2000, 1, 1), None]),
            "at": pa.array([datetime(2026, 11, 20, 14, 5, 6, 789, tzinfo=UTC), None, datetime(1970, 1, 1, tzinfo=UTC)]),
            "naive": pa.array([datetime(2026, 11, 20, 9, 0), datetime(1999, 1, 1), None]),
            "ratio": pa.array([0.1, None, -1e300]),
            "label": pa.array(REASONS[:3]),
            "words": pa.array(["non-ASCII: 逾期 — ¿", None, "a trailing backslash \\"]),
        }
    )
    with postgres_ledger.engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE every_kind (n serial, {columns})")
        insert_table(conn, "every_kind", rows)
        conn.exec_driver_sql("CREATE TABLE with_json (n serial, label text, details json)")
        insert_table(conn, "with_json", pa.table({"label": ["a", "b"], "details": ['{"x": 1}', None]}))
    with postgres_ledger.engine.connect() as conn:
        found = conn.exec_driver_sql(f"SELECT {', '.join(rows.column_names)} FROM every_kind ORDER BY n").all()
        with_json = conn.exec_driver_sql("SELECT label, details FROM with_json ORDER BY n").all()
    expected = list(zip(*(column.to_pylist() for column in rows.columns), strict=True))
    assert [tuple(row) for row in found] == expected
    assert [tuple(row) for row in with_json] == [("a", {"x": 1}), ("b", None)]


def test_a_value_too_large_for_its_column_is_refused_by_name(postgres_ledger):
    with postgres_ledger.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE narrow (line integer, account_id text)")
    refused = r'out of range for type integer[\s\S]*line 2, column line: "3000000000"'
    with pytest.raises(psycopg2.DataError, match=refused), postgres_ledger.engine.begin() as conn:
        insert_table(conn, "narrow", pa.table({"line": [1, 3_000_000_000], "account_id": ["A1", "A2"]}))
