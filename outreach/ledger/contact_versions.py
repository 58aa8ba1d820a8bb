"""Each account's contact details kept once per version, not once per day.

A day's pull writes its segmentation facts to ``account_days`` and, for the accounts whose contact
details changed (a hash of them differs from the version in effect that day), closes that version and
opens a new one in ``account_contacts``. A normal day therefore writes a few percent of the book's
contact details. Each version also keeps the hash of its fields as the source gave them
(``source_hash``): the pull checks and stages only the rows whose fields differ from that, and a row
whose fields read differently but check to the same details only has its version's source hash
brought up to date. Pulling a past day again keeps every other day as it read before: the version it
replaces goes on from the account's next pulled day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import and_, delete, func, or_, select, update

from outreach.accounts.columns import row_flags
from outreach.accounts.schema import PARTY_COLUMNS
from outreach.accounts.staging import StagedAccountsOutdated
from outreach.ledger.bulk import update_rows
from outreach.ledger.bulk_reads import read_table
from outreach.ledger.schema import CONTACT_COLUMNS, account_contacts, account_days

ROWS_PER_HASH_BATCH = 200_000
ACCOUNTS_PER_STATEMENT = 5_000


# The debtor's own details; the others' are hashed in only for an account that names one, so the
# versions written before parties were kept still match an account that names none.
DEBTOR_COLUMNS = tuple(name for name in CONTACT_COLUMNS[1:] if name not in PARTY_COLUMNS)


def contact_hashes(contacts: pa.Table) -> np.ndarray:
    """A 64-bit hash of each row's contact details (stable across processes and days)."""
    hashes = np.concatenate(
        [np.zeros(0, dtype=np.uint64)]
        + [
            pd.util.hash_pandas_object(batch.to_pandas(), index=False).to_numpy()
            for batch in contacts.select(list(DEBTOR_COLUMNS)).to_batches(max_chunksize=ROWS_PER_HASH_BATCH)
        ]
    )
    parties = [name for name in PARTY_COLUMNS if name in contacts.column_names]
    if parties:
        named = np.zeros(contacts.num_rows, dtype=bool)
        for name in parties:
            named |= row_flags(pc.is_valid(contacts.column(name)))
        rows = np.flatnonzero(named)
        if len(rows):
            every = contacts.take(pa.array(rows)).select(list(CONTACT_COLUMNS[1:])).to_pandas()
            hashes[rows] = pd.util.hash_pandas_object(every, index=False).to_numpy()
    return hashes.view(np.int64)


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[start : start + ACCOUNTS_PER_STATEMENT] for start in range(0, len(values), ACCOUNTS_PER_STATEMENT)]


def _in_effect_on(business_date: date) -> Any:
    return and_(
        account_contacts.c.valid_from <= business_date,
        or_(account_contacts.c.valid_to.is_(None), account_contacts.c.valid_to > business_date),
    )


def versions_in_effect(conn: Any, business_date: date) -> pa.Table:
    """Each account's contact version in effect on a day: its id, bounds and hashes."""
    query = select(
        account_contacts.c.account_id,
        account_contacts.c.valid_from,
        account_contacts.c.valid_to,
        account_contacts.c.contact_hash,
        account_contacts.c.source_hash,
    ).where(_in_effect_on(business_date))
    return read_table(conn, query)


def sources_in_effect(conn: Any, business_date: date) -> pa.Table:
    """Each account's contact version in effect on a day that keeps its source hash: the account, that hash
    and the hash of the version's checked details."""
    query = select(
        account_contacts.c.account_id, account_contacts.c.source_hash, account_contacts.c.contact_hash
    ).where(and_(_in_effect_on(business_date), account_contacts.c.source_hash.is_not(None)))
    return read_table(conn, query)


def check_still_current(staged: pa.Table, in_effect: pa.Table) -> None:
    """Refuse a day whose pull left out contact details (``contacts_checked`` false) because they were as
    a version's (``version_hash``, that version's details) whose details are no longer those in effect
    (``versions_in_effect``, read now). A version only given another source hash still holds."""
    if "contacts_checked" not in staged.column_names:
        return
    left_out = staged.filter(pc.invert(staged.column("contacts_checked"))).select(["account_id", "version_hash"])
    if not left_out.num_rows:
        return
    now = left_out.join(in_effect.select(["account_id", "contact_hash"]), "account_id", join_type="left outer")
    gone = pc.or_kleene(pc.is_null(now["contact_hash"]), pc.not_equal(now["contact_hash"], now["version_hash"]))
    outdated = int(pc.sum(pc.cast(gone, pa.int64())).as_py() or 0)
    # One version in effect per account and day, always; two would mean the versions were being written
    # while this day was read, and which one holds cannot be told.
    if outdated or now.num_rows != left_out.num_rows:
        raise StagedAccountsOutdated(
            f"{max(outdated, 1)} accounts' contact details changed in the ledger after the pull staged this day "
            "(a pull of another day, or another run of this one, was segmented in between): run the pull again, "
            "so that it compares the source with the details as they are now"
        )


def _first_after(conn: Any, column: Any, account_id: Any, business_date: date) -> dict[str, date]:
    rows = conn.execute(select(account_id, func.min(column)).where(column > business_date).group_by(account_id))
    return {account: pd.Timestamp(first).date() for account, first in rows}


def contact_changes(contacts: pa.Table, hashes: np.ndarray, in_effect: pa.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the checked rows ``contacts`` (with ``source_hash``; ``hashes``, their details' hashes) change
    against the versions in effect (``versions_in_effect``):

    - the accounts whose details differ from their version's, or that have none: each one's row in
      ``contacts``, its new hash and the version it replaces (for ``write_versions``);
    - the accounts whose details are their version's, given in another form (or hashed as given for the
      first time): each one's version and the source hash it now has (for ``restate_sources``).
    """
    today = pa.table(
        {
            "account_id": contacts.column("account_id"),
            "hash": pa.array(hashes, pa.int64()),
            "given_hash": contacts.column("source_hash"),
            "row": pa.array(np.arange(contacts.num_rows), pa.int64()),
        }
    )
    # Joined once in Arrow, a million accounts against the versions in effect on a first day; only the
    # changed few percent become Python values.
    known = today.join(in_effect, "account_id", join_type="left outer")
    differs = pc.or_kleene(pc.is_null(known["contact_hash"]), pc.not_equal(known["contact_hash"], known["hash"]))
    given_anew = pc.and_(
        pc.is_valid(known["given_hash"]),
        pc.or_kleene(pc.is_null(known["source_hash"]), pc.not_equal(known["source_hash"], known["given_hash"])),
    )
    restated = pc.and_(pc.invert(differs), given_anew)
    return (
        _as_frame(known.filter(differs)),
        _as_frame(
            known.filter(pc.fill_null(restated, False)).select(["account_id", "valid_from", "given_hash", "row"])
        ),
    )


def _as_frame(rows: pa.Table) -> pd.DataFrame:
    return rows.sort_by("row").to_pandas(date_as_object=True, types_mapper={pa.int64(): pd.Int64Dtype()}.get)


def restate_sources(conn: Any, restated: pd.DataFrame) -> int:
    """Bring the versions of ``restated`` (``contact_changes``) up to the source hash they now have."""
    if restated.empty:
        return 0
    rows = [
        {"account_id": account, "valid_from": since, "source_hash": int(given)}
        for account, since, given in zip(
            restated["account_id"], restated["valid_from"], restated["given_hash"], strict=True
        )
    ]
    update_rows(
        conn, account_contacts, ("account_id", "valid_from"), rows, lambda new: {"source_hash": new["source_hash"]}
    )
    return len(rows)


def write_versions(
    conn: Any,
    business_date: date,
    contacts: pa.Table,
    bulk_insert: Callable[[Any, str, pa.Table], None],
    changed: pd.DataFrame,
) -> int:
    """Open a contact version on ``business_date`` for every account of ``contacts`` (``account_id`` and
    ``CONTACT_COLUMNS``) in ``changed`` (as ``contact_changes`` finds them against the versions in effect that
    day); returns how many."""
    if changed.empty:
        return 0
    newest = conn.execute(select(func.max(account_days.c.business_date))).scalar()
    past_day = newest is not None and pd.Timestamp(newest).date() > business_date
    next_day = (
        _first_after(conn, account_days.c.business_date, account_days.c.account_id, business_date) if past_day else {}
    )
    next_version = (
        _first_after(conn, account_contacts.c.valid_from, account_contacts.c.account_id, business_date)
        if past_day
        else {}
    )

    had = changed["valid_from"].notna()
    same_day = changed[had & (changed["valid_from"] == business_date)]
    older = changed[had & (changed["valid_from"] != business_date)]
    tails: list[dict[str, Any]] = []
    if past_day:
        # The days after this one that read the replaced version must still read it.
        for row in changed[had].itertuples():
            after = next_day.get(row.account_id)
            if after is not None and (pd.isna(row.valid_to) or after < row.valid_to):
                tails.append({"account_id": row.account_id, "from": row.valid_from, "tail_from": after})

    def ends(rows: pd.DataFrame) -> list[date | None]:
        result = []
        for row in rows.itertuples():
            end = None if pd.isna(row.valid_to) else row.valid_to
            if pd.isna(row.valid_from):
                end = next_version.get(row.account_id)
            after = next_day.get(row.account_id)
            if after is not None and (end is None or after < end):
                end = after
            result.append(end)
        return result

    # A pull of the newest day (the usual one) ends each new version where the replaced one ended.
    new_valid_to = ends(changed) if past_day else [None if pd.isna(end) else end for end in changed["valid_to"]]
    tail_rows = _read_tails(conn, tails)
    for chunk in _chunks(list(same_day["account_id"])):
        conn.execute(
            delete(account_contacts).where(
                and_(account_contacts.c.account_id.in_(chunk), account_contacts.c.valid_from == business_date)
            )
        )
    for chunk in _chunks(list(older["account_id"])):
        conn.execute(
            update(account_contacts)
            .where(
                and_(
                    account_contacts.c.account_id.in_(chunk),
                    account_contacts.c.valid_from < business_date,
                    or_(account_contacts.c.valid_to.is_(None), account_contacts.c.valid_to > business_date),
                )
            )
            .values(valid_to=business_date)
        )
    rows = contacts.take(pa.array(changed["row"].to_numpy(dtype=np.int64), pa.int64()))
    versions = rows.append_column("valid_from", pa.array([business_date] * len(changed), pa.date32()))
    versions = versions.append_column("valid_to", pa.array(new_valid_to, pa.date32()))
    versions = versions.append_column("contact_hash", pa.array(changed["hash"].to_numpy(dtype=np.int64), pa.int64()))
    bulk_insert(conn, account_contacts.name, versions)
    if tail_rows is not None:
        bulk_insert(conn, account_contacts.name, tail_rows)
    return len(changed)


def _read_tails(conn: Any, tails: list[dict[str, Any]]) -> pa.Table | None:
    """The replaced versions' details again, from each account's next pulled day to where they ended."""
    if not tails:
        return None
    wanted = {(t["account_id"], t["from"]): t["tail_from"] for t in tails}
    found = []
    for chunk in _chunks(sorted({t["account_id"] for t in tails})):
        # Nullable integers: a version from before the source hashes were kept would make the column float,
        # and a 64-bit hash does not survive that.
        frame = pd.read_sql(
            select(account_contacts).where(account_contacts.c.account_id.in_(chunk)),
            conn,
            dtype_backend="numpy_nullable",
        )
        frame["valid_from"] = pd.to_datetime(frame["valid_from"]).dt.date
        found.append(frame)
    versions = pd.concat(found, ignore_index=True)
    keys = list(zip(versions["account_id"], versions["valid_from"], strict=True))
    versions = versions[[key in wanted for key in keys]].copy()
    versions["valid_from"] = [wanted[key] for key in zip(versions["account_id"], versions["valid_from"], strict=True)]
    versions["valid_to"] = pd.to_datetime(versions["valid_to"]).dt.date
    columns = [c.name for c in account_contacts.columns]
    table = pa.Table.from_pandas(versions[columns], preserve_index=False)
    return table.cast(pa.schema([_arrow_field(c) for c in account_contacts.columns]))


def _arrow_field(column: Any) -> pa.Field:
    kinds = {"DATE": pa.date32(), "BIGINT": pa.int64(), "INTEGER": pa.int64(), "BOOLEAN": pa.bool_()}
    return pa.field(column.name, kinds.get(str(column.type), pa.string()))
