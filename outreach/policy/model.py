"""What the policy engine decides about: the request, the account's facts, its history.

These models are also the what-if command's input format (``outreach policy
check``); ``docs/policy-check.schema.json`` is generated from them.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from outreach.parties import Recipient

Channel = Literal["sms", "email", "voice", "voicemail", "letter", "agent_queue"]
Purpose = Literal[
    "collection",
    "validation_notice",
    "cease_ack",
    "remedy_notice",
    "verification",
    "receipt",
    "opt_out_confirmation",
    "location",
]
SenderType = Literal["long_code", "toll_free", "short_code"]
DeliveryMode = Literal["automated", "prerecorded", "live_agent", "manual"]
Outcome = Literal["send", "defer", "block", "review"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SuppressionReason = Literal[
    "bankruptcy",
    "deceased",
    "cease_and_desist",
    "dispute",
    "attorney",
    "legal_hold",
    "paid_in_full",
    "fraud_identity_theft",
    "medium_opt_out",
    "electronic_address_opt_out",
    "tcpa_revoked",
    "provider_block",
    "workplace_prohibited",
]
EventKind = Literal["attempt", "conversation", "voicemail_left", "inbound", "opt_out_confirmation"]
EventOutcome = Literal[
    "unknown", "connected", "not_connected", "no_answer", "busy", "voicemail", "delivered", "failed", "bounced"
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps need a timezone (use Z for UTC)")
    return value.astimezone(UTC)


class Phone(_Model):
    number: str = Field(description="E.164, e.g. +12125550142")
    type: Literal["mobile", "landline", "work", "unknown"] = "unknown"


class Consent(_Model):
    scope: Literal["tcpa_automated", "email", "nyc_electronic", "direct_call"] = Field(
        description="tcpa_automated: autodialed or prerecorded calls and automated texts; direct_call: the"
        " consumer asked to be called (e.g. 'call me'), which keeps calls within 7 days of it out of the"
        " call counts (12 CFR 1006.14(b)(3))"
    )
    address: str | None = Field(None, description="the number or email it covers; null for every one on file")
    channels: tuple[Channel, ...] | None = Field(None, description="the channels it covers; null for all in scope")
    obtained_at: datetime | None = None
    revoked_at: datetime | None = None

    _utc = field_validator("obtained_at", "revoked_at")(classmethod(lambda cls, v: _as_utc(v)))


class Suppression(_Model):
    reason: SuppressionReason
    channel: Channel | None = Field(None, description="null: every channel")
    address: str | None = Field(None, description="null: every address of the account")
    effective_at: datetime
    lifted_at: datetime | None = None
    source: str = "unknown"
    detail: str | None = Field(None, description="e.g. the provider error code 21610")

    _utc = field_validator("effective_at", "lifted_at")(classmethod(lambda cls, v: _as_utc(v)))

    def active_at(self, at: datetime) -> bool:
        return self.effective_at <= at and (self.lifted_at is None or self.lifted_at > at)


class ContactEvent(_Model):
    at: datetime
    channel: Channel
    kind: EventKind = "attempt"
    outcome: EventOutcome = "unknown"
    address: str | None = None
    purpose: Purpose = "collection"
    recipient: Recipient = Field("debtor", description="who the contact was with")
    message_could_be_left: bool | None = Field(
        None,
        description="for a call nobody answered: whether a voicemail or message could have been left"
        " (Massachusetts counts the attempt unless it could not, 940 CMR 7.04(1)(f)); null: not known, so it counts",
    )

    _utc = field_validator("at")(classmethod(lambda cls, v: _as_utc(v)))


class InconvenientTime(_Model):
    """A time the consumer said does not suit them, in their local time."""

    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    start: time
    end: time


class CollectingAgency(_Model):
    """The outside agency collecting the account, for contacts it makes (CN-4, CN-5, CN-8)."""

    name: str
    on_bank_list: bool = Field(description="whether the agency is on the bank's list of approved agencies")
    debtor_told_at: datetime | None = Field(
        None, description="when the debtor was told this agency collects the debt; null: not told"
    )

    _utc = field_validator("debtor_told_at")(classmethod(lambda cls, v: _as_utc(v)))


class AccountFacts(_Model):
    account_id: str
    country: str = "US"
    region: str | None = Field(None, description="state or province code, e.g. MA")
    postal_code: str | None = None
    city: str | None = Field(None, description="e.g. NYC; derived from the postal code when absent")
    collector_type: Literal["first_party", "third_party", "debt_buyer"] = "first_party"
    agency: CollectingAgency | None = Field(None, description="for a third-party collector: which agency it is")
    stated_timezone: str | None = None
    phones: tuple[Phone, ...] = ()
    emails: tuple[str, ...] = ()
    flags: tuple[SuppressionReason, ...] = Field((), description="account-wide holds from the system of record")
    time_barred: bool = False
    inconvenient_times: tuple[InconvenientTime, ...] = ()
    consents: tuple[Consent, ...] = ()
    initial_communication_at: datetime | None = Field(
        None, description="the first communication with the consumer about this debt; null: read from the history"
    )
    validation_notice_at: datetime | None = Field(
        None, description="when the validation notice was given (12 CFR 1006.34); null: read from the history"
    )

    _utc = field_validator("initial_communication_at", "validation_notice_at")(classmethod(lambda cls, v: _as_utc(v)))


class TemplateTraits(_Model):
    """What the template linter found in the message about to be sent."""

    name: str = ""
    has_opt_out: bool = True
    legal_threat_words: tuple[str, ...] = ()
    is_limited_content: bool = True
    mentions_debt: bool = Field(True, description="false only for a message that says nothing of the debt")


# The what-if input's version: 1 was the first published; 2 added who is contacted (recipient), the
# sender type and provider, the agency, the validation notice facts, direct call consent,
# whether a message could have been left, whether a call is recorded, and the Reassigned
# Numbers Database's answers. Every version-1 document is a valid version-2 one.
SCHEMA_VERSION = 2


class ContactRequest(_Model):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"version": SCHEMA_VERSION, "$comment": "docs/policy-check.md lists the changes"},
    )

    account: AccountFacts
    channel: Channel
    address: str | None = None
    purpose: Purpose = "collection"
    delivery_mode: DeliveryMode = "automated"
    recipient: Recipient = Field("debtor", description="who the contact is with")
    sender_type: SenderType | None = Field(
        None, description="the kind of number a text or call goes out from; toll_free: the carrier handles STOP"
    )
    provider: str | None = Field(
        None, description="who carries the message, e.g. twilio; null: the product's own (Twilio, SendGrid)"
    )
    recorded: bool | None = Field(
        None, description="for a call: whether it will be recorded; null: as the product does, where a rule requires"
    )
    at: datetime = Field(description="when the contact would happen (UTC)")
    template: TemplateTraits | None = None
    history: tuple[ContactEvent, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    number_checks: tuple[NumberCheck, ...] = Field((), description="Reassigned Numbers Database answers on file")

    _utc = field_validator("at")(classmethod(lambda cls, v: _as_utc(v)))


class NumberCheck(_Model):
    """An answer of the Reassigned Numbers Database about a number, kept as evidence (TC-8, US-14)."""

    number: str
    checked_at: datetime
    answer: Literal["yes", "no", "no_data"] = Field(
        description="yes: disconnected since the date asked about (it may be someone else's now); no: not; no_data"
    )

    _utc = field_validator("checked_at")(classmethod(lambda cls, v: _as_utc(v)))


class TraceEntry(_Model):
    rule: str
    outcome: Outcome
    reason: str


class Decision(_Model):
    decision: Outcome
    not_before: datetime | None = Field(None, description="for defer: the earliest time the contact is a send")
    window_end: datetime | None = Field(None, description="for send/defer: when the contact window closes")
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    trace: tuple[TraceEntry, ...] = ()

    def reason_text(self) -> str:
        return "; ".join(self.reasons)
