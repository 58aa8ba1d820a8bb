"""Reads and writes of the ledger, over any SQLAlchemy URL (SQLite or PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from outreach.accounts.columns import row_flags
from outreach.accounts.schema import PARTY_COLUMNS
from outreach.frames import rows_of
from outreach.ledger import bulk
from outreach.ledger.bulk import insert_rows, insert_table, update_rows
from outreach.ledger.bulk_reads import read_frame, read_table
from outreach.ledger.collector_records import CollectorRecords
from outreach.ledger.contact_versions import (
    check_still_current,
    contact_changes,
    contact_hashes,
    restate_sources,
    sources_in_effect,
    versions_in_effect,
    write_versions,
)
from outreach.ledger.day_partitions import clear_day, load_day, swap_in_day
from outreach.ledger.escalation_records import EscalationRecords
from outreach.ledger.id_lists import in_slices, one_of
from outreach.ledger.ladder_records import LadderRecords
from outreach.ledger.number_check_records import NumberCheckRecords
from outreach.ledger.ref_records import RefRecords
from outreach.ledger.rollup_records import RollupRecords
from outreach.ledger.schema import (
    ATTORNEY_ANSWER,
    CONTACT_COLUMNS,
    DAY_COLUMNS,
    SNAPSHOT_COLUMNS,
    account_contacts,
    account_days,
    account_snapshots,
    attempts,
    decisions,
    events,
    ladder_states,
    pipeline_runs,
    planned_steps,
    quarantined_rows,
    suppressions,
)
from outreach.ledger.selfservice_records import SelfServiceRecords
from outreach.ledger.step_shards import in_shard, table_with_account_hash, with_account_hash
from outreach.ledger.wave_records import WaveRecords
from outreach.parties import LOCATION_REQUESTS, PARTY_CONTACT_KINDS, party_column
from outreach.policy.facts import EVENT_KINDS
from outreach.shards import Shard

CHUNK = 5000


def utc(value: datetime | None) -> datetime | None:
    """Timestamps come back naive from SQLite; the ledger only ever stores UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _chunks(rows: Sequence[dict[str, Any]], size: int = CHUNK) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# Opt-outs with a legal deadline to honour (``outreach.policy.deadlines``), and the one message that may follow.
OPT_OUT_REASONS = frozenset({"electronic_address_opt_out", "tcpa_revoked"})
OPT_OUT_CONFIRMATION_TEMPLATE = "opt_out_confirmation"


def _as_date(value: Any) -> date:
    """A date column's value as a date (SQLite hands back ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _as_contact_events(frame: pd.DataFrame) -> pd.DataFrame:
    # An attempt's own status says whether it reached the provider, not how the call went.
    frame["outcome"] = frame["outcome"].where(~frame["outcome"].isin(["claimed", "sent"]), "unknown")
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return _none_for_missing(frame)


# Any number that no other code of the ledger's takes as an advisory lock.
SEGMENTATION_LOCK = 0x6F75747265616368  # "outreach"


def _one_segmentation_at_a_time(conn: Any) -> None:
    """Hold off another day's segmentation until this transaction ends. Its versions in effect are read on
    another connection, and compared with what the pull found: a segmentation writing versions meanwhile
    could make that comparison wrong. SQLite takes one writer at a time of itself."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SEGMENTATION_LOCK})")


def _contact_changes(
    book: pa.Table, contacts: pa.Table, hashes: np.ndarray, in_effect: pa.Table
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The versions a day opens, and those whose source hash it brings up to date, once the versions in
    effect are known still to be those the pull compared the book with."""
    check_still_current(book, in_effect)
    return contact_changes(contacts, hashes, in_effect)


def _with_party_columns(book: pa.Table) -> pa.Table:
    """A book from a source that names no other parties, with their columns empty."""
    for name in PARTY_COLUMNS:
        if name not in book.column_names:
            book = book.append_column(name, pa.nulls(book.num_rows, pa.string()))
    return book


def _none_for_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None, not NaN: callers test them for truth ("no stated timezone")."""
    return frame.astype(object).where(frame.notna(), None)


def _days_with_contacts(business_date: date, names: Sequence[str] = SNAPSHOT_COLUMNS) -> Any:
    """``account_snapshots``' columns ``names`` on a day, read from its two tables: a filter can then name
    either table's own columns (a shard's account hash, a list of ids), where through the view
    PostgreSQL joins the day to itself to apply them."""
    contacts_then = and_(
        account_contacts.c.account_id == account_days.c.account_id,
        account_contacts.c.valid_from <= account_days.c.business_date,
        or_(account_contacts.c.valid_to.is_(None), account_contacts.c.valid_to > account_days.c.business_date),
    )
    columns = [(account_days.c[n] if n in account_days.c else account_contacts.c[n]).label(n) for n in names]
    return (
        select(*columns)
        .select_from(account_days.join(account_contacts, contacts_then))
        .where(account_days.c.business_date == business_date)
    )


def _snapshot_of(business_date: date, account_ids: list[str], dialect: str) -> Any:
    """``account_snapshots`` of some accounts on a day, with the accounts named to each table: PostgreSQL
    does not carry a list of ids across the join, and would otherwise scan the whole day for every list
    (a tenth of a second at a million accounts, for every thousand)."""
    return _days_with_contacts(business_date).where(
        one_of(account_days.c.account_id, account_ids, dialect),
        one_of(account_contacts.c.account_id, account_ids, dialect),
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the report read while a dispatch writes; the timeout rides out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Events the contact policy reads from further back than the rest of the history.
LONG_MEMORY_KINDS = ("inbound", "number_check")
LONG_MEMORY = timedelta(days=60)
# What from an attorney's address is their answer (US-19): a reply, or a call that reached someone.
ATTORNEY_ANSWER_KINDS = ("inbound", "conversation")
# The recorded events the contact policy reads (``outreach.policy.facts``). Provider receipts, keypresses
# and payments are not among them: read, they would only be dropped, and an account with a receipt on
# file would be asked about on its own instead of with its class (``outreach.decision_classes``).
POLICY_EVENT_KINDS = tuple(sorted(EVENT_KINDS | {"call_consent", "number_check", ATTORNEY_ANSWER}))


@dataclass(frozen=True)
class HistoryQueries:
    """The queries of the contact policy's history since a time: the recent sends and recorded events,
    and, older than those, the sends to an attorney and the replies and conversations from where the
    attorney was reached. A represented debtor may be contacted again once the attorney has not
    answered for a month (US-19): that month and the answers after it lie beyond the week the rest
    of the history covers. No row is in two of them."""

    recent_sends: Any
    recent_events: Any
    earlier_attorney_sends: Any
    earlier_attorney_answers: Any

    def all(self, account_ids: list[str] | None = None) -> list[Any]:
        """Every query, of some accounts only if ``account_ids`` names them."""
        sends = (self.recent_sends, self.earlier_attorney_sends)
        recorded = (self.recent_events, self.earlier_attorney_answers)
        if account_ids is None:
            return [*sends, *recorded]
        return [query.where(attempts.c.account_id.in_(account_ids)) for query in sends] + [
            query.where(events.c.account_id.in_(account_ids)) for query in recorded
        ]

    def of_shard(self, shard: Shard) -> HistoryQueries:
        """The sends of one shard's accounts only (the events have no shard of their own to pick by)."""
        return replace(
            self,
            recent_sends=self.recent_sends.where(in_shard(shard)),
            earlier_attorney_sends=self.earlier_attorney_sends.where(in_shard(shard)),
        )


class Ledger(
    LadderRecords,
    EscalationRecords,
    RollupRecords,
    WaveRecords,
    RefRecords,
    NumberCheckRecords,
    CollectorRecords,
    SelfServiceRecords,
):
    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Ledger:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_pragmas)
        elif parsed.get_driver_name() == "psycopg2":
            # A day's bulk status changes (a million sends) go in pages of statements, not one round trip each.
            engine = create_engine(
                url, pool_pre_ping=True, executemany_mode="values_plus_batch", executemany_batch_page_size=500
            )
        else:
            engine = create_engine(url, pool_pre_ping=True)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_schema(self) -> None:
        """Bring the ledger to this code's schema (Alembic migrations; a new ledger starts empty)."""
        from outreach.ledger.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def refresh_statistics(self, *tables: str, written: int | None = None) -> None:
        """After a bulk write (of ``written`` rows, if known): the database's planner told how large the
        tables now are."""
        with self.engine.begin() as conn:
            bulk.refresh_statistics(conn, *tables, written=written)

    # -- runs -------------------------------------------------------------------------

    def start_run(self, run_id: str, orchestrator_run_id: str, business_date: date, source: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(pipeline_runs).where(pipeline_runs.c.run_id == run_id))
            conn.execute(
                insert(pipeline_runs).values(
                    run_id=run_id,
                    orchestrator_run_id=orchestrator_run_id,
                    business_date=business_date,
                    source=source,
                    started_at=datetime.now(UTC),
                )
            )

    def update_run(self, run_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(pipeline_runs).where(pipeline_runs.c.run_id == run_id).values(**values))

    def run(self, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(pipeline_runs).where(pipeline_runs.c.run_id == run_id)).mappings().first()
        if row is None:
            raise LookupError(f"no pipeline run {run_id!r} in the ledger")
        return dict(row)

    def latest_run_id(self, business_date: date, campaign: str | None = None) -> str | None:
        query = select(pipeline_runs.c.run_id).where(pipeline_runs.c.business_date == business_date)
        if campaign is not None:
            query = query.where(pipeline_runs.c.campaign == campaign)
        with self.engine.connect() as conn:
            return conn.execute(query.order_by(pipeline_runs.c.started_at.desc()).limit(1)).scalar()

    def campaigns_of_run_date(self, business_date: date) -> list[str]:
        query = (
            select(pipeline_runs.c.campaign)
            .where(and_(pipeline_runs.c.business_date == business_date, pipeline_runs.c.campaign.is_not(None)))
            .distinct()
        )
        with self.engine.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def replace_quarantine(self, run_id: str, business_date: date, rows: Sequence[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(quarantined_rows).where(quarantined_rows.c.run_id == run_id))
            for chunk in _chunks([{**r, "run_id": run_id, "business_date": business_date} for r in rows]):
                conn.execute(insert(quarantined_rows), list(chunk))

    def set_aside(self, rows: Sequence[dict[str, Any]]) -> None:
        """Keep what arrived but could not be used (a webhook item, a payment for no account) for a person."""
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(quarantined_rows), list(rows))

    def quarantine_counts(self, run_id: str) -> dict[str, int]:
        """Quarantined rows of a run, counted per field and kind of reason (the offending value left out)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(quarantined_rows.c.field, quarantined_rows.c.reason).where(quarantined_rows.c.run_id == run_id)
            ).all()
        counts: dict[str, int] = {}
        for field, reason in rows:
            kind = re.sub(r"'[^']*'|\[[^\]]*\]", "…", reason).strip()
            key = f"{field}: {kind}"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def quarantined(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(quarantined_rows).where(quarantined_rows.c.run_id == run_id).order_by(quarantined_rows.c.line)
            ).mappings()
            return [dict(r) for r in rows]

    # -- account snapshots ------------------------------------------------------------------

    def replace_snapshot(self, business_date: date, segmented: pa.Table) -> int:
        """Make ``segmented`` the segmented book of ``business_date`` (a re-run replaces it), in one transaction.

        Only its rows whose contact details the pull checked (``contacts_checked``; every row, in a book
        staged without it) can open a contact version; the others were found as their version in effect
        was made, which is checked to be still so."""
        book = _with_party_columns(segmented)
        if "source_hash" not in book.column_names:
            book = book.append_column("source_hash", pa.nulls(book.num_rows, pa.int64()))
        checked = (
            np.flatnonzero(row_flags(book.column("contacts_checked")))
            if "contacts_checked" in book.column_names
            else np.arange(book.num_rows)
        )
        contacts = book.select([*CONTACT_COLUMNS, "source_hash"])
        if len(checked) < book.num_rows:
            contacts = contacts.take(pa.array(checked, pa.int64()))
        with ThreadPoolExecutor(max_workers=2) as beside, self.engine.begin() as conn:
            # The contact hashes are Python's work, the day's load the database's: side by side, on a million
            # accounts, their seconds overlap. On PostgreSQL the versions in effect are read, and the accounts
            # whose details changed found, on a connection of their own (this transaction has not touched
            # them yet) while this one loads; an embedded SQLite reads them in this one, after.
            _one_segmentation_at_a_time(conn)
            hashes = beside.submit(contact_hashes, contacts)
            changing = (
                beside.submit(self._changed_contacts, business_date, book, contacts, hashes)
                if self.dialect == "postgresql"
                else None
            )
            days = table_with_account_hash(segmented)
            loaded = load_day(conn, business_date, days.select(list(DAY_COLUMNS)), insert_table)
            changed, restated = (
                changing.result()
                if changing is not None
                else _contact_changes(book, contacts, hashes.result(), versions_in_effect(conn, business_date))
            )
            restate_sources(conn, restated)
            opened = write_versions(conn, business_date, contacts, insert_table, changed)
            day_table = swap_in_day(conn, business_date, loaded)
        with self.engine.begin() as conn:
            bulk.refresh_statistics(conn, day_table)
            # A normal day opens versions for a few percent of the book: the contacts' statistics still
            # hold (their ANALYZE is 0.3 s at a million accounts); a first day's million are analysed.
            bulk.refresh_statistics(conn, account_contacts.name, written=opened)
        return segmented.num_rows

    def _changed_contacts(
        self, business_date: date, book: pa.Table, contacts: pa.Table, hashes: Future[np.ndarray]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        with self.engine.connect() as conn:
            in_effect = versions_in_effect(conn, business_date)
        return _contact_changes(book, contacts, hashes.result(), in_effect)

    def contact_sources(self, business_date: date) -> pa.Table:
        """Each account's contact version in effect on ``business_date`` that keeps its source hash
        (``sources_in_effect``), for a pull to check only the rows given otherwise."""
        with self.engine.connect() as conn:
            return sources_in_effect(conn, business_date)

    def clear_snapshot(self, business_date: date) -> None:
        with self.engine.begin() as conn:
            clear_day(conn, business_date)

    def account_with_mobile(self, number: str) -> str | None:
        """The account a text from ``number`` is about: the one last texted there, else the newest book's.

        Both lookups use an index; the snapshot history is never scanned whole, however many days it holds.
        """
        with self.engine.connect() as conn:
            texted = conn.execute(
                select(planned_steps.c.account_id)
                .where(and_(planned_steps.c.contact_address == number, planned_steps.c.channel == "sms"))
                .order_by(planned_steps.c.business_date.desc())
                .limit(1)
            ).scalar()
            if texted is not None:
                return texted
            newest = conn.execute(select(func.max(account_days.c.business_date))).scalar()
            return conn.execute(
                select(account_snapshots.c.account_id)
                .where(and_(account_snapshots.c.business_date == newest, account_snapshots.c.mobile_phone == number))
                .limit(1)
            ).scalar()

    def latest_business_date(self, on_or_before: date | None = None) -> date | None:
        """The newest business date whose accounts were pulled (up to ``on_or_before``), or None."""
        query = select(func.max(account_days.c.business_date))
        if on_or_before is not None:
            query = query.where(account_days.c.business_date <= on_or_before)
        with self.engine.connect() as conn:
            latest = conn.execute(query).scalar()
        return _as_date(latest) if latest is not None else None

    def known_account_id(self, typed: str) -> str | None:
        """The account id as the ledger keeps it, for an id as a person typed it (any case, stray spaces);
        None when no snapshot has it. Each guess is an indexed lookup, never a scan of every snapshot."""
        typed = typed.strip()
        with self.engine.connect() as conn:
            for guess in dict.fromkeys((typed, typed.upper(), typed.lower())):
                found = conn.execute(
                    select(account_days.c.account_id).where(account_days.c.account_id == guess).limit(1)
                ).scalar()
                if found is not None:
                    return str(found)
        return None

    def latest_snapshot(self, on_or_before: date) -> pd.DataFrame:
        """The newest snapshot up to a date: what is known of the accounts on a day no source was read."""
        latest = self.latest_business_date(on_or_before)
        return self.snapshot(latest if latest is not None else on_or_before)

    def accounts_on(self, business_date: date, account_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The named accounts as the newest snapshot up to a date holds them, by id: a part of the book,
        never the whole of it (with the facts ``snapshot`` adds)."""
        latest = self.latest_business_date(business_date) or business_date
        ids = list(dict.fromkeys(account_ids))
        frames = []
        with self.engine.connect() as conn:
            for part in in_slices(ids, self.dialect):
                frames.append(read_frame(conn, _snapshot_of(latest, part, self.dialect)))
        if not frames:
            return {}
        frame = _none_for_missing(pd.concat(frames, ignore_index=True))
        frame = self.with_contact_preferences(self.with_collector_facts(frame))
        return {row["account_id"]: row for row in rows_of(frame)}

    def snapshot(
        self,
        business_date: date,
        buckets_only: bool = False,
        shard: Shard | None = None,
        parties: Iterable[str] | None = None,
        campaign: str | None = None,
        buckets: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """The day's accounts (of one shard of the book, with ``shard``) with the facts the ledger adds; with
        ``parties``, only those of the other parties' contact points (a campaign's plan reads no others).
        With ``buckets``, only the accounts in them and, with ``campaign``, those whose ladder position is
        in that campaign (an account that left its buckets, paid or current, is still the campaign's to
        close): a campaign's plan does not read the half of the book another campaign serves."""
        names = list(SNAPSHOT_COLUMNS)
        if parties is not None:
            wanted = {party_column(party, kind) for party in parties for kind in PARTY_CONTACT_KINDS}
            names = [name for name in names if name not in PARTY_COLUMNS or name in wanted]
        query = _days_with_contacts(business_date, names)
        if buckets_only:
            query = query.where(account_days.c.bucket != "current")
        if buckets is not None:
            served = account_days.c.bucket.in_(list(buckets))
            if campaign is not None:
                # A join (an account has one position), not ``IN`` a subquery: PostgreSQL hashes a
                # subquery's ids only while they fit in ``work_mem`` and otherwise reads them all again for
                # every account (minutes, at a million accounts).
                position = ladder_states.c.account_id == account_days.c.account_id
                query = query.outerjoin(ladder_states, position)
                served = or_(served, ladder_states.c.campaign == campaign)
            query = query.where(served)
        if shard is not None and not shard.whole:
            query = query.where(in_shard(shard, account_days))
        with self.engine.connect() as conn:
            frame = read_frame(conn, query)
        return self.with_contact_preferences(self.with_collector_facts(_none_for_missing(frame)))

    def account_count(self, business_date: date, shard: Shard | None = None) -> int:
        """How many accounts the day's book holds (of one shard of it, with ``shard``)."""
        query = select(func.count()).select_from(account_days).where(account_days.c.business_date == business_date)
        if shard is not None and not shard.whole:
            query = query.where(in_shard(shard, account_days))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def latest_buckets_before(self, business_date: date) -> pa.Table:
        """Each account's bucket (``account_id``, ``bucket``) on the most recent earlier business date."""
        with self.engine.connect() as conn:
            previous = conn.execute(
                select(func.max(account_days.c.business_date)).where(account_days.c.business_date < business_date)
            ).scalar()
            if previous is None:
                return pa.table({"account_id": pa.array([], pa.string()), "bucket": pa.array([], pa.string())})
            day = _as_date(previous)
            return read_table(
                conn,
                select(account_days.c.account_id, account_days.c.bucket).where(account_days.c.business_date == day),
            )

    def bucket_counts(self, business_date: date) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(account_snapshots.c.bucket, func.count())
                .where(account_snapshots.c.business_date == business_date)
                .group_by(account_snapshots.c.bucket)
            ).all()
        return {bucket: count for bucket, count in rows}

    def roll_counts(self, business_date: date) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(account_snapshots.c.roll, func.count())
                .where(and_(account_snapshots.c.business_date == business_date, account_snapshots.c.roll.is_not(None)))
                .group_by(account_snapshots.c.roll)
            ).all()
        return {roll: count for roll, count in rows}

    def left_outreach_counts(self, business_date: date) -> dict[str, int]:
        with self.engine.connect() as conn:
            base = select(func.count()).where(account_snapshots.c.business_date == business_date)
            current = conn.execute(base.where(account_snapshots.c.bucket == "current")).scalar() or 0
            paid = conn.execute(base.where(account_snapshots.c.flags.like("%paid_in_full%"))).scalar() or 0
        return {"current": int(current), "paid": int(paid)}

    # -- contact history ------------------------------------------------------------------

    def contact_history(self, account_ids: Iterable[str] | None, since: date, until: date) -> pd.DataFrame:
        """Steps that reached a provider (or were claimed to), with their stage, between two dates."""
        query = (
            select(
                planned_steps.c.account_id,
                planned_steps.c.campaign,
                planned_steps.c.stage,
                planned_steps.c.channel,
                planned_steps.c.business_date,
                attempts.c.status,
                attempts.c.claimed_at,
            )
            .join(attempts, attempts.c.step_key == planned_steps.c.step_key)
            .where(and_(planned_steps.c.business_date >= since, planned_steps.c.business_date <= until))
        )
        if account_ids is not None:
            query = query.where(planned_steps.c.account_id.in_(list(account_ids)))
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame["claimed_at"] = pd.to_datetime(frame["claimed_at"], utc=True)
        return frame

    def contact_events(
        self, since: datetime, account_ids: Iterable[str] | None = None, shard: Shard | None = None
    ) -> pd.DataFrame:
        """Outbound attempts and recorded events since a time, in the policy engine's shape, with what
        passed with a represented debtor's attorney however long ago (``HistoryQueries``).
        With ``shard``, the attempts of that shard's accounts only: the sends of a day at a million
        accounts are most of the history, and each shard's task reads its own."""
        history = self._history_queries(since)
        if shard is not None and not shard.whole:
            history = history.of_shard(shard)
        queries = history.all(None if account_ids is None else list(account_ids))
        with self.engine.connect() as conn:
            frame = pd.concat([read_frame(conn, query) for query in queries], ignore_index=True)
        return _as_contact_events(frame)

    def contact_events_about(
        self, since: datetime, account_ids: Iterable[str], addresses: Iterable[str]
    ) -> pd.DataFrame:
        """``contact_events`` for some accounts, plus the Reassigned Numbers Database's answers about their
        numbers whichever account they were asked for: what ``planner.ContactHistories`` finds for them,
        read without the rest of the book."""
        ids = list(dict.fromkeys(account_ids))
        numbers = sorted({a for a in addresses if isinstance(a, str) and a})
        history = self._history_queries(since)
        checks = history.recent_events.where(events.c.kind == "number_check")
        frames = []
        with self.engine.connect() as conn:
            for part in in_slices(ids, self.dialect):
                sends = history.recent_sends.where(one_of(attempts.c.account_id, part, self.dialect))
                frames.append(read_frame(conn, sends))
                recorded = history.recent_events.where(one_of(events.c.account_id, part, self.dialect))
                frames.append(read_frame(conn, recorded))
            # The older contacts with attorneys are few, found by their own index: read once, then kept
            # for these accounts, rather than asked again for each thousand of them.
            wanted = set(ids)
            for query in (history.earlier_attorney_sends, history.earlier_attorney_answers):
                found = read_frame(conn, query)
                # Looked up one found row at a time: these are few, and the round's ids many (``isin``
                # would go through all of them for each query).
                frames.append(found[np.fromiter((a in wanted for a in found["account_id"]), bool, len(found))])
            for part in in_slices(numbers, self.dialect):
                found = read_frame(conn, checks.where(one_of(events.c.address, part, self.dialect)))
                # The accounts' own answers were read with them already.
                frames.append(found[np.fromiter((a not in wanted for a in found["account_id"]), bool, len(found))])
        if not frames:
            outbound_columns = [column.name for column in history.recent_sends.selected_columns]
            return _as_contact_events(pd.DataFrame(columns=outbound_columns))
        return _as_contact_events(pd.concat(frames, ignore_index=True))

    def _history_queries(self, since: datetime) -> HistoryQueries:
        """The queries of the policy engine's history since a time (``HistoryQueries``)."""
        outbound_columns = (
            attempts.c.account_id,
            attempts.c.claimed_at.label("at"),
            attempts.c.channel,
            case((planned_steps.c.template == "opt_out_confirmation", "opt_out_confirmation"), else_="attempt").label(
                "kind"
            ),
            attempts.c.status.label("outcome"),
            planned_steps.c.contact_address.label("address"),
            planned_steps.c.recipient,
            case((planned_steps.c.template.in_(sorted(LOCATION_REQUESTS)), "location"), else_="collection").label(
                "purpose"
            ),
        )
        outbound = (
            select(*outbound_columns)
            .join(planned_steps, attempts.c.step_key == planned_steps.c.step_key)
            .where(attempts.c.claimed_at >= since)
        )
        answered_by_attorney = events.c.kind == ATTORNEY_ANSWER
        recorded_columns = (
            events.c.account_id,
            events.c.occurred_at.label("at"),
            events.c.channel,
            case((answered_by_attorney, "inbound"), else_=events.c.kind).label("kind"),
            events.c.outcome,
            events.c.address,
            case((answered_by_attorney, "attorney"), else_=None).label("recipient"),
        )
        # Replies and number checks are read further back: a debt collector's basis to text a number
        # is the consumer's text from it, or a database answer, within 60 days (12 CFR 1006.6(d)(5)).
        # An attorney's answer that a person recorded is read however old, as the attempts it answers.
        recorded_since = (
            (events.c.occurred_at >= since)
            | (events.c.kind.in_(LONG_MEMORY_KINDS) & (events.c.occurred_at >= since - LONG_MEMORY))
            | answered_by_attorney
        )
        recorded = select(*recorded_columns).where(
            events.c.channel.is_not(None), events.c.kind.in_(POLICY_EVENT_KINDS), recorded_since
        )
        to_attorney = planned_steps.c.recipient == "attorney"
        attorney_earlier = (
            select(*outbound_columns)
            .join(planned_steps, attempts.c.step_key == planned_steps.c.step_key)
            .where(to_attorney, attempts.c.claimed_at < since)
        )
        reached = (
            select(
                attempts.c.account_id,
                planned_steps.c.contact_address.label("address"),
                func.min(attempts.c.claimed_at).label("first_at"),
            )
            .join(planned_steps, attempts.c.step_key == planned_steps.c.step_key)
            .where(to_attorney, planned_steps.c.contact_address.is_not(None))
            .group_by(attempts.c.account_id, planned_steps.c.contact_address)
            .subquery()
        )
        attorney_answers_earlier = (
            select(*recorded_columns)
            .join(reached, and_(events.c.account_id == reached.c.account_id, events.c.address == reached.c.address))
            .where(
                events.c.kind.in_(ATTORNEY_ANSWER_KINDS),
                events.c.channel.is_not(None),
                events.c.occurred_at >= reached.c.first_at,
                ~recorded_since,
            )
        )
        return HistoryQueries(outbound, recorded, attorney_earlier, attorney_answers_earlier)

    def unreacted_events(self, limit: int = 5000) -> list[dict[str, Any]]:
        """Events the events DAG has not reacted to yet, oldest first."""
        query = select(events).where(events.c.reacted_at.is_(None)).order_by(events.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def mark_reacted(self, event_ids: Sequence[int], at: datetime) -> None:
        with self.engine.begin() as conn:
            for chunk in _chunks([{"event_id": i} for i in event_ids]):
                conn.execute(
                    update(events).where(events.c.id == bindparam("event_id")).values(reacted_at=at), list(chunk)
                )

    def steps_by_key(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = [k for k in set(keys) if k]
        if not wanted:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(planned_steps).where(planned_steps.c.step_key.in_(wanted))).mappings()
            return {row["step_key"]: dict(row) for row in rows}

    def active_suppressions(self, at: datetime) -> pd.DataFrame:
        query = select(suppressions).where(
            and_(
                suppressions.c.effective_at <= at,
                (suppressions.c.lifted_at.is_(None)) | (suppressions.c.lifted_at > at),
            )
        )
        with self.engine.connect() as conn:
            return _none_for_missing(pd.read_sql(query, conn))

    def late_opt_outs(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Opt-outs that missed the law's deadline (``honour_by``), where the miss happened in [start, end]:
        recorded after it (given elsewhere, loaded late), or a contact they cover sent after it.
        Columns: suppression id, reason, channel, address, effective_at, honour_by, late_at, how."""
        opt_outs = suppressions.c.reason.in_(list(OPT_OUT_REASONS)) & suppressions.c.honour_by.is_not(None)
        opt_out_columns = (
            suppressions.c.id,
            suppressions.c.reason,
            suppressions.c.channel,
            suppressions.c.address,
            suppressions.c.effective_at,
            suppressions.c.honour_by,
        )
        recorded_late = select(*opt_out_columns, suppressions.c.recorded_at.label("late_at")).where(
            opt_outs,
            suppressions.c.recorded_at > suppressions.c.honour_by,
            suppressions.c.recorded_at.between(start, end),
        )
        contacted_late = (
            select(*opt_out_columns, attempts.c.claimed_at.label("late_at"))
            .join(planned_steps, planned_steps.c.contact_address == suppressions.c.address)
            .join(attempts, attempts.c.step_key == planned_steps.c.step_key)
            .where(
                opt_outs,
                suppressions.c.channel.is_(None) | (suppressions.c.channel == attempts.c.channel),
                attempts.c.claimed_at > suppressions.c.honour_by,
                suppressions.c.lifted_at.is_(None) | (suppressions.c.lifted_at > attempts.c.claimed_at),
                attempts.c.status != "failed",
                planned_steps.c.template != OPT_OUT_CONFIRMATION_TEMPLATE,
                attempts.c.claimed_at.between(start, end),
            )
        )
        with self.engine.connect() as conn:
            recorded = pd.read_sql(recorded_late, conn).assign(how="recorded after its deadline")
            contacted = pd.read_sql(contacted_late, conn).assign(how="contacted after its deadline")
        frames = [frame for frame in (recorded, contacted) if not frame.empty]
        late = pd.concat(frames).sort_values(["late_at", "id"]) if frames else recorded
        return _none_for_missing(late)

    def calls_without_recording(self, first: date, last: date) -> pd.DataFrame:
        """Calls of business dates first..last a rule required recorded that reached someone (a person or
        a voicemail) and have no recording on file.
        Columns: step_key, account_id, business_date, claimed_at, status, recording_days."""
        query = (
            select(
                attempts.c.step_key,
                attempts.c.account_id,
                planned_steps.c.business_date,
                attempts.c.claimed_at,
                attempts.c.status,
                attempts.c.recording_days,
            )
            .join(planned_steps, planned_steps.c.step_key == attempts.c.step_key)
            .where(
                attempts.c.recording_days.is_not(None),
                attempts.c.recording_ref.is_(None),
                attempts.c.status.in_(["connected", "voicemail"]),
                planned_steps.c.business_date.between(first, last),
            )
        )
        with self.engine.connect() as conn:
            frame = pd.read_sql(query.order_by(attempts.c.claimed_at), conn)
        frame["claimed_at"] = pd.to_datetime(frame["claimed_at"], utc=True)
        return frame

    def add_suppression(self, **values: Any) -> None:
        values.setdefault("effective_at", datetime.now(UTC))
        with self.engine.begin() as conn:
            conn.execute(insert(suppressions).values(**values))

    # -- planned steps ------------------------------------------------------------------

    def save_plan(
        self,
        business_date: date,
        steps: Sequence[dict[str, Any]],
        audit: Sequence[dict[str, Any]],
        campaign: str | None = None,
        shard: Shard | None = None,
    ) -> set[str]:
        """Replace the not-yet-dispatched plan of a business date (of one campaign, of one shard of the
        book) and append its audit rows; returns the keys of ``steps`` a dispatcher claimed already,
        which stay as they are."""
        with self.engine.begin() as conn:
            # Which of these steps a dispatcher claimed already, looked up by key: not the whole day's
            # claims for every round of a plan (a second each at a million accounts).
            keys = [step["step_key"] for step in steps]
            dispatched = {
                key
                for part in in_slices(keys, self.dialect)
                for key in conn.execute(
                    select(attempts.c.step_key).where(one_of(attempts.c.step_key, part, self.dialect))
                ).scalars()
            }
            fresh = with_account_hash([s for s in steps if s["step_key"] not in dispatched])
            # NOT EXISTS, not NOT IN (subquery): PostgreSQL turns it into an anti-join, where a NOT IN list
            # of a ledger's attempts outgrows work_mem and is read again for every step of a re-run.
            claimed = exists().where(attempts.c.step_key == planned_steps.c.step_key)
            scope = and_(planned_steps.c.business_date == business_date, ~claimed)
            if campaign is not None:
                scope = and_(scope, planned_steps.c.campaign == campaign)
            if shard is not None and not shard.whole:
                scope = and_(scope, in_shard(shard))
            conn.execute(delete(planned_steps).where(scope))
            insert_rows(conn, planned_steps, fresh)
            insert_rows(conn, decisions, list(audit))
        with self.engine.begin() as conn:
            bulk.refresh_statistics(conn, planned_steps.name, written=len(fresh))
        return dispatched

    def steps(
        self,
        business_date: date,
        statuses: Sequence[str] | None = None,
        campaign: str | None = None,
        run_id: str | None = None,
        shard: Shard | None = None,
    ) -> pd.DataFrame:
        query = select(planned_steps).where(planned_steps.c.business_date == business_date)
        if campaign is not None:
            query = query.where(planned_steps.c.campaign == campaign)
        if shard is not None and not shard.whole:
            query = query.where(in_shard(shard))
        if run_id is not None:
            query = query.where(planned_steps.c.run_id == run_id)
        if statuses is not None:
            query = query.where(planned_steps.c.status.in_(list(statuses)))
        with self.engine.connect() as conn:
            frame = read_frame(conn, query.order_by(planned_steps.c.step_key))
        for column in ("window_start", "window_end", "planned_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return _none_for_missing(frame)

    def set_step_status(self, updates: Sequence[dict[str, Any]]) -> None:
        """Bulk status change; each update has step_key, status, status_reason and window_start."""
        if not updates:
            return
        rows = [
            {
                "step_key": u["step_key"],
                "status": u["status"],
                "status_reason": u["status_reason"],
                "window_start": u.get("window_start"),
            }
            for u in updates
        ]
        with self.engine.begin() as conn:
            update_rows(
                conn,
                planned_steps,
                "step_key",
                rows,
                lambda new: {
                    "status": new["status"],
                    "status_reason": new["status_reason"],
                    "window_start": func.coalesce(new["window_start"], planned_steps.c.window_start),
                },
            )

    def sync_step_status(self, business_date: date) -> None:
        """Pending steps whose attempt already finished (a run killed before its bookkeeping) take its status."""
        finished = (
            select(attempts.c.status)
            .where(and_(attempts.c.step_key == planned_steps.c.step_key, attempts.c.status.in_(["sent", "failed"])))
            .scalar_subquery()
        )
        with self.engine.begin() as conn:
            conn.execute(
                update(planned_steps)
                .where(and_(planned_steps.c.business_date == business_date, planned_steps.c.status == "pending"))
                .where(finished.is_not(None))
                .values(status=finished)
            )

    # -- attempts ------------------------------------------------------------------

    def claim(self, steps: Sequence[dict[str, Any]], run_id: str, lease: timedelta = timedelta(minutes=2)) -> set[str]:
        """Claim steps for sending; returns the keys this caller won.

        The unique step key makes the claim atomic: two workers, a task retry or a
        re-run of the same day can race here and only one of them gets each step. The
        claim is the caller's until ``lease`` runs out; a live caller renews it.
        """
        if not steps:
            return set()
        now = datetime.now(UTC)
        rows = [
            {
                "step_key": s["step_key"],
                "run_id": run_id,
                "account_id": s["account_id"],
                "channel": s["channel"],
                "status": "claimed",
                "claimed_at": now,
                "lease_until": now + lease,
                "recording_days": s.get("recording_days"),
            }
            for s in steps
        ]
        # A step held since it was read (a payment, an opt-out) is not claimed: it does not go.
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # One statement: the pending check, the claim and the keys won, in one round trip.
                new = bulk.unnested(attempts, rows)
                claimed = (
                    postgresql.insert(attempts)
                    .from_select(
                        list(rows[0]),
                        select(*(new.c[name] for name in rows[0])).join(
                            planned_steps,
                            and_(planned_steps.c.step_key == new.c.step_key, planned_steps.c.status == "pending"),
                        ),
                    )
                    .on_conflict_do_nothing(index_elements=["step_key"])
                    .returning(attempts.c.step_key)
                )
                return set(conn.execute(claimed).scalars())
            still_pending = set(
                conn.execute(
                    select(planned_steps.c.step_key).where(
                        planned_steps.c.step_key.in_([r["step_key"] for r in rows]),
                        planned_steps.c.status == "pending",
                    )
                ).scalars()
            )
            rows = [r for r in rows if r["step_key"] in still_pending]
            statement = (
                sqlite.insert(attempts)
                .on_conflict_do_nothing(index_elements=["step_key"])
                .returning(attempts.c.step_key)
            )
            won: set[str] = set()
            for chunk in _chunks(rows, 1000):
                won.update(conn.execute(statement, list(chunk)).scalars().all())
        return won

    def renew_claims(self, step_keys: Iterable[str], lease: timedelta) -> None:
        """Extend the lease of the caller's claims that are still out (not yet answered)."""
        keys = list(step_keys)
        until = datetime.now(UTC) + lease
        with self.engine.begin() as conn:
            for start in range(0, len(keys), 1000):
                conn.execute(
                    update(attempts)
                    .where(attempts.c.step_key.in_(keys[start : start + 1000]), attempts.c.status == "claimed")
                    .values(lease_until=until)
                )

    def release_claims(self, step_keys: Sequence[str]) -> None:
        """Give claims back: the provider did not take these sends, so they may be claimed again."""
        with self.engine.begin() as conn:
            for start in range(0, len(step_keys), 1000):
                conn.execute(delete(attempts).where(attempts.c.step_key.in_(step_keys[start : start + 1000])))

    def complete_attempts(self, results: Sequence[dict[str, Any]]) -> None:
        """Record each provider outcome; each result has step_key, status, provider_message_id, error_code, error."""
        if not results:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "step_key": r["step_key"],
                "status": r["status"],
                "provider_message_id": r.get("provider_message_id"),
                "error_code": r.get("error_code"),
                "error": r.get("error"),
                "segments": r.get("segments"),
            }
            for r in results
        ]
        with self.engine.begin() as conn:
            update_rows(
                conn,
                attempts,
                "step_key",
                rows,
                lambda new: {
                    # A provider callback can land before the send's own answer is recorded: its outcome stands.
                    "status": case((attempts.c.status == "claimed", new["status"]), else_=attempts.c.status),
                    "provider_message_id": new["provider_message_id"],
                    "error_code": new["error_code"],
                    "error": new["error"],
                    "completed_at": now,
                    "segments": new["segments"],
                },
            )

    def step_counts(self, business_date: date, campaign: str | None = None) -> pd.DataFrame:
        """The day's planned steps counted by channel, status and rules (``count``): what a report adds up,
        without reading a million steps."""
        query = select(
            planned_steps.c.channel, planned_steps.c.status, planned_steps.c.rule_ids, func.count().label("count")
        ).where(planned_steps.c.business_date == business_date)
        if campaign is not None:
            query = query.where(planned_steps.c.campaign == campaign)
        query = query.group_by(planned_steps.c.channel, planned_steps.c.status, planned_steps.c.rule_ids)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def attempt_counts(self, business_date: date, run_id: str, campaign: str | None = None) -> pd.DataFrame:
        """The day's attempts counted by whether ``run_id`` made them (``this_run``), status, channel and
        error code (``count``, and the SMS segments they took: ``segments``)."""
        this_run = (attempts.c.run_id == run_id).label("this_run")
        query = (
            select(
                this_run,
                attempts.c.status,
                attempts.c.channel,
                attempts.c.error_code,
                func.count().label("count"),
                func.coalesce(func.sum(attempts.c.segments), 0).label("segments"),
            )
            .join(planned_steps, attempts.c.step_key == planned_steps.c.step_key)
            .where(planned_steps.c.business_date == business_date)
            .group_by(this_run, attempts.c.status, attempts.c.channel, attempts.c.error_code)
        )
        if campaign is not None:
            query = query.where(planned_steps.c.campaign == campaign)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame["this_run"] = frame["this_run"].astype(bool)
        return frame

    def attempts_for(self, business_date: date) -> pd.DataFrame:
        query = (
            select(attempts, planned_steps.c.stage, planned_steps.c.campaign)
            .join(planned_steps, attempts.c.step_key == planned_steps.c.step_key)
            .where(planned_steps.c.business_date == business_date)
        )
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    # -- audit ------------------------------------------------------------------

    def record_decisions(self, rows: Sequence[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            insert_rows(conn, decisions, list(rows))

    def account_timeline(self, account_id: str) -> dict[str, pd.DataFrame]:
        """Everything the ledger knows about one account, oldest first."""
        with self.engine.connect() as conn:
            return {
                "snapshots": pd.read_sql(
                    select(
                        account_snapshots.c.business_date,
                        account_snapshots.c.dpd,
                        account_snapshots.c.bucket,
                        account_snapshots.c.flags,
                    )
                    .where(account_snapshots.c.account_id == account_id)
                    .order_by(account_snapshots.c.business_date),
                    conn,
                ),
                "decisions": pd.read_sql(
                    select(decisions).where(decisions.c.account_id == account_id).order_by(decisions.c.id), conn
                ),
                "attempts": pd.read_sql(
                    select(attempts).where(attempts.c.account_id == account_id).order_by(attempts.c.id), conn
                ),
                "events": pd.read_sql(
                    select(events).where(events.c.account_id == account_id).order_by(events.c.id), conn
                ),
            }
