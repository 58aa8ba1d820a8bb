"""Before a day is planned: ask the Reassigned Numbers Database about the numbers we text or autodial.

Only US mobile numbers with consent to automated texts or calls are asked about, and each
again once its last answer is older than ``RECHECK_AFTER`` (half the 60 days a "not reassigned"
answer stands for). The date asked about is when the number was last known to be the consumer's:
the date of the last "not reassigned" answer; for a number never asked about, the consent's date
is not in the bank's file, so the date ``OUTREACH_RND_LOOKBACK_DAYS`` (default 1,825) before
today stands in for it, which errs towards "reassigned". A number once reported reassigned is not
asked again: it stays held until the consumer confirms it. Every answer is kept in the ledger as
evidence; the contact policy reads it (TC-8, US-14).
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pandas as pd

from outreach.channels.reassigned_numbers import NumberQuery, ReassignedNumbers, ReassignedNumbersError
from outreach.ledger import Ledger
from outreach.parties import PARTIES, party_column

log = logging.getLogger(__name__)

RECHECK_AFTER = timedelta(days=30)


def lookback_days() -> int:
    return int(os.environ.get("OUTREACH_RND_LOOKBACK_DAYS") or 1825)


def numbers_to_check(snapshot: pd.DataFrame) -> pd.DataFrame:
    """account_id and number of each US mobile number with consent to automated texts or calls: the
    debtor's, and each other party's the account names with that party's consent (a stage may text them)."""
    if snapshot.empty:
        return pd.DataFrame(columns=["account_id", "number"])
    in_us = snapshot["country"] == "US"
    consented = snapshot["consent_sms"].fillna(False).astype(bool) | snapshot["consent_voice"].fillna(False).astype(
        bool
    )
    wanted = [(in_us & snapshot["mobile_phone"].notna() & consented, "mobile_phone")]
    for party in PARTIES:
        phone, consent = party_column(party, "phone"), party_column(party, "consent")
        if phone in snapshot and consent in snapshot:
            agreed = snapshot[consent].fillna(False).astype(bool)
            wanted.append((in_us & snapshot[phone].notna() & agreed, phone))
    return pd.concat(
        [snapshot.loc[rows, ["account_id", column]].rename(columns={column: "number"}) for rows, column in wanted],
        ignore_index=True,
    )


def check_reassigned_numbers(
    ledger: Ledger, snapshot: pd.DataFrame, business_date: date, checker: ReassignedNumbers, now: datetime
) -> int:
    """Ask about the numbers due a check and keep the answers; how many were asked about."""
    wanted = numbers_to_check(snapshot)
    if wanted.empty:
        return 0
    latest = ledger.latest_number_checks(wanted["number"])
    confirmed = ledger.latest_number_checks(wanted["number"], answer="no")
    reported = ledger.latest_number_checks(wanted["number"], answer="yes")
    due = wanted[
        [n not in reported and (latest.get(n) is None or now - latest[n] > RECHECK_AFTER) for n in wanted["number"]]
    ].drop_duplicates("number")
    if due.empty:
        return 0
    unknown_since = business_date - timedelta(days=lookback_days())
    queries = {
        row.number: (row.account_id, confirmed[row.number].date() if row.number in confirmed else unknown_since)
        for row in due.itertuples()
    }
    try:
        answers = checker.check([NumberQuery(number, since) for number, (_, since) in queries.items()])
    except ReassignedNumbersError as exc:
        # Fail safe: without an answer no safe harbour is claimed; a debt collector's texts go to review.
        log.error("the Reassigned Numbers Database did not answer for %d number(s): %s", len(queries), exc)
        return 0
    source = urlsplit(checker.base_url).netloc
    ledger.record_number_checks(
        [
            {
                "account_id": queries[a.number][0],
                "number": a.number,
                "since": a.since,
                "answer": a.answer,
                "checked_at": now,
                "source": source,
            }
            for a in answers
        ]
    )
    reassigned = sum(a.answer == "yes" for a in answers)
    log.info("asked the Reassigned Numbers Database about %d number(s): %d reassigned", len(answers), reassigned)
    return len(answers)
