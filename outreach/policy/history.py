"""The contact history as the rules count it: one entry per contact, however the history wrote it.

A call that reached a voicemail or a person can arrive as one row (an attempt with its
outcome, or a ``voicemail_left``/``conversation`` row on its own) or as two (the attempt,
then a row for how it went). Both are one call: it counts once as an attempt, and once
as a voicemail or a conversation (CONTACT_POLICY.md US-7, MA-1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from outreach.policy.model import Consent, ContactEvent

CALL_CHANNELS = frozenset({"voice", "voicemail"})
# A row that only says how a call went, and the outcome it stands for.
OUTCOME_ROWS = {"conversation": "connected", "voicemail_left": "voicemail"}
# How long after its attempt a call's outcome row may be recorded and still be that call's.
OUTCOME_LAG = timedelta(hours=1)
UNANSWERED = frozenset({"no_answer", "busy", "not_connected"})


@dataclass(frozen=True)
class Contact:
    """One contact as counted: the row it came from, what it counts as, and how it ended."""

    event: ContactEvent
    kinds: frozenset[str]
    outcome: str

    @property
    def at(self) -> datetime:
        return self.event.at

    @property
    def channel(self) -> str:
        return self.event.channel

    @property
    def address(self) -> str | None:
        return self.event.address

    @property
    def no_message_possible(self) -> bool:
        """Nobody answered and no voicemail or message could have been left (MA-1's exemption)."""
        return self.outcome in UNANSWERED and self.event.message_could_be_left is False

    def placed_with_direct_consent(self, consents: Iterable[Consent], days: int) -> bool:
        """A call made within ``days`` of the consumer asking for one to that number (US-7(i))."""
        return any(
            consent.scope == "direct_call"
            and consent.obtained_at is not None
            and consent.address in (None, self.address)
            and consent.obtained_at <= self.at < consent.obtained_at + timedelta(days=days)
            and (consent.revoked_at is None or self.at < consent.revoked_at)
            for consent in consents
        )


def _call_kinds(outcome: str) -> frozenset[str]:
    kinds = {"attempt"}
    if outcome == "connected":
        kinds.add("conversation")
    elif outcome == "voicemail":
        kinds.add("voicemail_left")
    return frozenset(kinds)


def _same_call(attempt: ContactEvent, outcome_row: ContactEvent) -> bool:
    """The outcome row says how this attempt went: same number, within the lag, and the attempt has
    no other outcome of its own (a call that rang out is not the one that later left a voicemail)."""
    same_number = attempt.address == outcome_row.address or None in (attempt.address, outcome_row.address)
    agrees = attempt.outcome in ("unknown", OUTCOME_ROWS[outcome_row.kind])
    return same_number and agrees and attempt.at <= outcome_row.at <= attempt.at + OUTCOME_LAG


def contacts(history: Iterable[ContactEvent]) -> tuple[Contact, ...]:
    """The history with each call once, its outcome taken from whichever row states it."""
    ordered = sorted(history, key=lambda e: e.at)
    outcome_of: dict[int, str] = {}
    standalone: set[int] = set()
    for row in ordered:
        if row.kind not in OUTCOME_ROWS or row.channel not in CALL_CHANNELS:
            continue
        # The latest attempt before it that no other outcome row has claimed.
        match = next(
            (
                index
                for index in range(len(ordered) - 1, -1, -1)
                if ordered[index].kind == "attempt"
                and ordered[index].channel in CALL_CHANNELS
                and index not in outcome_of
                and _same_call(ordered[index], row)
            ),
            None,
        )
        if match is None:
            standalone.add(id(row))
        else:
            outcome_of[match] = OUTCOME_ROWS[row.kind]
    counted: list[Contact] = []
    for index, row in enumerate(ordered):
        if row.kind == "attempt" and row.channel in CALL_CHANNELS:
            outcome = outcome_of.get(index, row.outcome)
            counted.append(Contact(row, _call_kinds(outcome), outcome))
        elif row.kind in OUTCOME_ROWS and row.channel in CALL_CHANNELS:
            if id(row) in standalone:
                outcome = OUTCOME_ROWS[row.kind]
                counted.append(Contact(row, _call_kinds(outcome), outcome))
        else:
            counted.append(Contact(row, frozenset({row.kind}), row.outcome))
    return tuple(counted)
