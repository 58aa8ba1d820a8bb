"""From ledger rows to the engine's models: one place that knows both shapes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, get_args

from outreach.policy.model import (
    AccountFacts,
    Consent,
    ContactEvent,
    EventKind,
    EventOutcome,
    InconvenientTime,
    NumberCheck,
    Phone,
    Suppression,
)

PHONE_TYPES = {"mobile_phone": "mobile", "home_phone": "landline", "work_phone": "work"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_KINDS = frozenset(get_args(EventKind))
# The columns ``account_facts`` reads besides the account's identity, its addresses and its postal
# code: with the city the postal code names and the zones the numbers place it in, all the rules can
# tell of an account (``outreach.decision_classes``). A column read below must be named here.
SHARED_FACT_COLUMNS = (
    "country",
    "region",
    "collector_type",
    "stated_timezone",
    "flags",
    "consent_sms",
    "consent_voice",
    "consent_email",
    "initial_communication_at",
    "validation_notice_at",
    "inconvenient_times",
)


def account_facts(row: Mapping[str, Any]) -> AccountFacts:
    """Facts of one account snapshot row (as stored in ``account_snapshots``)."""
    phones = tuple(Phone(number=row[column], type=kind) for column, kind in PHONE_TYPES.items() if row.get(column))
    consents = []
    # The system of record holds one yes/no per channel; each becomes a consent of that scope.
    if row.get("consent_sms"):
        consents.append(Consent(scope="tcpa_automated", channels=("sms",), obtained_at=None))
    if row.get("consent_voice"):
        consents.append(Consent(scope="tcpa_automated", channels=("voice", "voicemail"), obtained_at=None))
    if row.get("consent_email"):
        consents.append(Consent(scope="email", address=row.get("email")))
    flags = tuple(f for f in str(row.get("flags") or "").split("|") if f)
    return AccountFacts(
        account_id=str(row["account_id"]),
        country=str(row.get("country") or "US"),
        region=row.get("region"),
        postal_code=row.get("postal_code"),
        collector_type=row.get("collector_type") or "first_party",
        stated_timezone=row.get("stated_timezone"),
        phones=phones,
        emails=(row["email"],) if row.get("email") else (),
        flags=flags,
        consents=tuple(consents),
        # Present for a debt collector's accounts (``Ledger.with_collector_facts``).
        initial_communication_at=_at(row["initial_communication_at"]) if row.get("initial_communication_at") else None,
        validation_notice_at=_at(row["validation_notice_at"]) if row.get("validation_notice_at") else None,
        # Times the debtor named on the self-service page (``Ledger.with_contact_preferences``).
        inconvenient_times=inconvenient_times(row.get("inconvenient_times")),
    )


def inconvenient_times(stated: Any) -> tuple[InconvenientTime, ...]:
    if not isinstance(stated, list | tuple):
        return ()
    return tuple(InconvenientTime.model_validate(item) for item in stated)


def _at(value: Any) -> datetime:
    moment = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# Provider words for how a contact ended, in the engine's terms; anything else is "unknown".
OUTCOMES = {
    "undelivered": "failed",
    "dropped": "failed",
    "bounce": "bounced",
    "spamreport": "delivered",
    "open": "delivered",
    "click": "delivered",
}


def _outcome(value: Any) -> str:
    value = OUTCOMES.get(value, value) if value else "unknown"
    return value if value in get_args(EventOutcome) else "unknown"


# Our calls ring until the provider gives up, and a voicemail box answers before that: a call that
# rang out, was busy or never connected could not have left a message (MA-1's exemption).
NO_MESSAGE_POSSIBLE = frozenset({"no_answer", "busy", "not_connected"})
MESSAGE_LEFT_OR_TALKED = frozenset({"voicemail", "connected"})


def _message_could_be_left(channel: str, outcome: str) -> bool | None:
    if channel not in ("voice", "voicemail"):
        return None
    if outcome in NO_MESSAGE_POSSIBLE:
        return False
    return True if outcome in MESSAGE_LEFT_OR_TALKED else None


def contact_events(rows: Iterable[Mapping[str, Any]]) -> tuple[ContactEvent, ...]:
    """Contacts and replies the rules count; provider receipts, keypresses and payments are not contacts."""
    return tuple(
        ContactEvent(
            at=_at(row["at"]),
            channel=row["channel"],
            kind=row.get("kind") or "attempt",
            outcome=_outcome(row.get("outcome")),
            address=row.get("address"),
            purpose=row.get("purpose") or "collection",
            recipient=row.get("recipient") or "debtor",
            message_could_be_left=_message_could_be_left(row["channel"], _outcome(row.get("outcome"))),
        )
        for row in rows
        if (row.get("kind") or "attempt") in EVENT_KINDS
    )


def direct_call_consents(rows: Iterable[Mapping[str, Any]]) -> tuple[Consent, ...]:
    """The consumer's requests to be called (a "call me" reply), each a consent to calls to that number."""
    return tuple(
        Consent(scope="direct_call", address=row.get("address"), obtained_at=_at(row["at"]))
        for row in rows
        if row.get("kind") == "call_consent"
    )


def suppressions(rows: Iterable[Mapping[str, Any]]) -> tuple[Suppression, ...]:
    return tuple(
        Suppression(
            reason=row["reason"],
            channel=row.get("channel"),
            address=row.get("address"),
            effective_at=_at(row["effective_at"]),
            lifted_at=_at(row["lifted_at"]) if row.get("lifted_at") is not None else None,
            source=row.get("source") or "unknown",
            detail=row.get("note"),
        )
        for row in rows
    )


def number_checks(rows: Iterable[Mapping[str, Any]]) -> tuple[NumberCheck, ...]:
    """The Reassigned Numbers Database's answers kept in the ledger for the account's numbers."""
    return tuple(
        NumberCheck(number=row["address"], checked_at=_at(row["at"]), answer=row["outcome"])
        for row in rows
        if row.get("kind") == "number_check" and row.get("address") and row.get("outcome") in ("yes", "no", "no_data")
    )
