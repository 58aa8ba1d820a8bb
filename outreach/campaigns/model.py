"""Campaign files: one YAML file per campaign, validated into a typed ladder.

Every error names the file, the line and the field, so the person who edited
the file can fix it from the message alone (in ``outreach campaigns validate``
and in the Airflow UI, where it shows as the campaign DAG's import error).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from outreach.buckets import checked_group, expand_group
from outreach.parties import Recipient, spoken
from outreach.yaml_files import parse_yaml

Channel = Literal["sms", "email", "voice", "agent_queue", "letter", "agency", "legal"]
Advance = Literal["no_payment", "no_response", "undelivered", "broken_promise"]
# Channels that reach the debtor through a provider; the rest hand the account to people.
CONTACT_CHANNELS = frozenset({"sms", "email", "voice"})
# Placing an account outside automation needs a person's approval.
APPROVAL_CHANNELS = frozenset({"agency", "legal"})
# Hand-offs that put a person in touch with a person: an agent's call, a letter.
PERSON_HANDOFFS = frozenset({"agent_queue", "letter"})
CAMPAIGN_ID = r"^[a-z0-9][a-z0-9_]*$"


class CampaignError(ValueError):
    """A campaign file is unusable; the message names the file, line and field."""


class Stage(BaseModel):
    """One rung of the ladder: what is sent, how long to wait, what moves the account on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    channels: tuple[Channel, ...] = Field(min_length=1)
    template: str | None = None
    wait_days: int = Field(default=3, ge=0, le=90)
    advance_on: Advance = "no_payment"
    fallback: Channel | None = None
    agency: str | None = None
    # Whom the stage's messages, calls and letters address: the debtor, or another party the account
    # names (its ``<party>_name``, ``_phone`` and ``_email``); the contact policy's rules for that party apply.
    recipient: Recipient = "debtor"

    @model_validator(mode="before")
    @classmethod
    def _one_channel_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "channel" in data:
            if "channels" in data:
                raise ValueError("give either channel or channels, not both")
            data = {key: value for key, value in data.items() if key != "channel"} | {"channels": [data["channel"]]}
        return data

    @field_validator("recipient")
    @classmethod
    def _reaches_a_person(cls, recipient: str, info: ValidationInfo) -> str:
        if recipient == "debtor":
            return recipient
        used = (*info.data.get("channels", ()), info.data.get("fallback"))
        placed = [c for c in used if c is not None and c not in CONTACT_CHANNELS | PERSON_HANDOFFS]
        if placed:
            raise ValueError(
                f"a placement ({placed[0]}) is of the account, not of a person: it cannot be for the "
                f"{spoken(recipient)}; the {spoken(recipient)} is reached by "
                f"{', '.join(sorted(CONTACT_CHANNELS | PERSON_HANDOFFS))}"
            )
        return recipient

    @model_validator(mode="after")
    def _check(self) -> Stage:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError(f"channels repeat: {list(self.channels)}")
        handoffs = [c for c in self.channels if c not in CONTACT_CHANNELS]
        if handoffs and len(self.channels) > 1:
            raise ValueError(f"a hand-off ({handoffs[0]}) is a stage of its own")
        if self.template is None and self.channel not in APPROVAL_CHANNELS:
            raise ValueError(f"a {self.channel} stage needs a template")
        if self.channel == "agency" and not self.agency:
            raise ValueError("an agency stage names the agency (agency: ...)")
        if self.agency and self.channel != "agency":
            raise ValueError("agency is only for agency stages")
        if self.fallback is not None:
            if self.fallback not in CONTACT_CHANNELS | PERSON_HANDOFFS:
                raise ValueError(f"fallback {self.fallback} cannot stand in for a message")
            if self.fallback in self.channels:
                raise ValueError(f"fallback {self.fallback} is already a channel of this stage")
        return self

    @property
    def channel(self) -> str:
        return self.channels[0]

    @property
    def needs_approval(self) -> bool:
        return self.channel in APPROVAL_CHANNELS

    @property
    def is_contact(self) -> bool:
        return self.channel in CONTACT_CHANNELS

    def describe(self) -> str:
        to = "" if self.recipient == "debtor" else f" to the {spoken(self.recipient)}"
        return f"{self.id} ({'+'.join(self.channels)}{to})"


class Senders(BaseModel):
    """Who the debtor sees the message from; unset ones come from the deployment's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sms: str | None = Field(default=None, pattern=r"^(\+[1-9]\d{6,14}|MG[0-9a-f]{32})$")
    voice: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    email_name: str | None = None

    def environment(self) -> dict[str, str]:
        names = {
            "sms": "OUTREACH_SMS_FROM",
            "voice": "OUTREACH_VOICE_FROM",
            "email": "OUTREACH_EMAIL_FROM",
            "email_name": "OUTREACH_EMAIL_FROM_NAME",
        }
        return {names[key]: value for key, value in self.model_dump().items() if value}


class Variant(BaseModel):
    """A champion/challenger arm: its share of accounts and, optionally, its own ladder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    weight: int = Field(ge=0, le=100)
    ladder: tuple[Stage, ...] | None = Field(default=None, min_length=1)


class RepaymentPlanOffer(BaseModel):
    """A repayment plan the debtor may choose: the balance in equal instalments, one every ``every_days``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instalments: int = Field(ge=2, le=24)
    # The smallest instalment worth offering, in the account's currency (major units): a plan whose
    # equal instalment would be smaller is not offered for that balance.
    minimum_instalment: Decimal = Field(gt=0)
    every_days: int = Field(default=30, ge=7, le=31)


class SelfService(BaseModel):
    """What the debtor-facing self-service page may offer for the campaign's accounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The latest date a self-service promise to pay may name, in days from today.
    promise_horizon_days: int = Field(default=14, ge=1, le=60)
    plans: tuple[RepaymentPlanOffer, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> SelfService:
        shapes = [(plan.instalments, plan.every_days) for plan in self.plans]
        repeated = sorted({shape for shape in shapes if shapes.count(shape) > 1})
        if repeated:
            raise ValueError(f"plans repeat (instalments, every_days): {repeated}")
        return self


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CAMPAIGN_ID)
    name: str
    description: str = ""
    buckets: tuple[str, ...] = Field(min_length=1)
    schedule: str = "0 9 * * 1-6"
    timezone: str = "America/New_York"
    senders: Senders = Senders()
    # Days after a promised date before an unpaid promise counts as broken.
    promise_grace_days: int = Field(default=1, ge=0, le=14)
    # How long a placement waits in Required Actions before it lapses to the next run.
    approval_timeout_hours: int = Field(default=20, ge=1, le=168)
    # Promises and repayment plans the debtor may make on the self-service page.
    self_service: SelfService = SelfService()
    ladder: tuple[Stage, ...] = Field(min_length=1)
    variants: tuple[Variant, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA timezone name") from exc
        return value

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(checked_group(value))

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression")
        return value

    def scheduled_at(self, business_date: date) -> datetime | None:
        """The instant (UTC) of the campaign's run on a business date; None when it does not run that day."""
        from croniter import croniter

        midnight = datetime.combine(business_date, time(0), ZoneInfo(self.timezone))
        fire = croniter(self.schedule, midnight - timedelta(seconds=1)).get_next(datetime)
        return fire.astimezone(UTC) if fire.date() == business_date else None

    def approval_wait(self) -> timedelta:
        """How long placements wait for a person: ``approval_timeout_hours``, but never past the run's business day.

        An unanswered approval then takes its default ("Decide next run") and the next day's run asks
        again, so a pending approval never holds the campaign's run into the next day's.
        """
        from croniter import croniter

        zone = ZoneInfo(self.timezone)
        # The length of a run's day is the same every day the campaign runs; take its first run from a Monday
        # (one step of the schedule, however rarely it fires).
        starts = croniter(self.schedule, datetime(2026, 1, 5, tzinfo=zone)).get_next(datetime)
        day_end = datetime.combine(starts.date() + timedelta(days=1), time(0), zone)
        return min(timedelta(hours=self.approval_timeout_hours), day_end - starts)

    @model_validator(mode="after")
    def _check(self) -> Campaign:
        for name, stages in self.ladders().items():
            ids = [stage.id for stage in stages]
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"stage ids repeat in {name}: {repeated}")
        if self.variants:
            ids = [v.id for v in self.variants]
            if len(set(ids)) != len(ids):
                raise ValueError(f"variant ids repeat: {ids}")
            if sum(v.weight for v in self.variants) != 100:
                raise ValueError(f"variant weights add up to {sum(v.weight for v in self.variants)}, not 100")
        return self

    @property
    def dag_id(self) -> str:
        return f"campaign_{self.id}"

    @property
    def bucket_names(self) -> tuple[str, ...]:
        return expand_group(self.buckets)

    def serves(self, bucket: str) -> bool:
        return bucket in self.bucket_names

    def ladders(self) -> dict[str, tuple[Stage, ...]]:
        """Each variant's ladder (the campaign's own when a variant does not override it)."""
        if not self.variants:
            return {"": self.ladder}
        return {v.id: v.ladder or self.ladder for v in self.variants}

    def ladder_for(self, variant: str) -> tuple[Stage, ...]:
        """The variant's ladder (the campaign's own for no variant or one it no longer has)."""
        for arm in self.variants:
            if arm.id == variant:
                return arm.ladder or self.ladder
        return self.ladder

    def variant_for(self, account_id: str) -> str:
        """The account's arm, fixed by a hash of campaign and account so re-runs agree."""
        if not self.variants:
            return ""
        digest = hashlib.sha256(f"{self.id}:{account_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % 100
        bound = 0
        for variant in self.variants:
            bound += variant.weight
            if point < bound:
                return variant.id
        return self.variants[-1].id

    def parties(self) -> frozenset[str]:
        """The others on an account some stage addresses (a stage's ``recipient`` other than the debtor)."""
        stages = (*self.ladder, *(stage for ladder in self.ladders().values() for stage in ladder))
        return frozenset(stage.recipient for stage in stages if stage.recipient != "debtor")

    def channels(self) -> set[str]:
        return {
            channel
            for stages in self.ladders().values()
            for stage in stages
            for channel in (*stage.channels, *((stage.fallback,) if stage.fallback else ()))
        }


def parse_campaign(text: str, origin: str) -> Campaign:
    return parse_yaml(
        text, origin, Campaign, CampaignError, "a campaign file is a mapping (id, name, buckets, ladder, ...)"
    )


def load_campaign(path: Path) -> Campaign:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read the campaign file: {exc.strerror}") from exc
    campaign = parse_campaign(text, str(path))
    if campaign.id != path.stem:
        raise CampaignError(f"{path}:1: id: {campaign.id!r} must match the file name {path.stem!r}")
    return campaign


def campaign_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_campaigns(directory: Path) -> list[Campaign]:
    """Every campaign in ``directory``; raises on the first broken file."""
    files = campaign_files(directory)
    if not files:
        raise CampaignError(f"{directory}: no campaign files (*.yaml)")
    campaigns = [load_campaign(path) for path in files]
    check_no_overlap(campaigns)
    return campaigns


def loadable_campaigns(directory: Path) -> list[Campaign]:
    """The campaigns in ``directory`` that load; a broken file is left out (and reported by its own DAG)."""
    campaigns = []
    for path in campaign_files(directory):
        try:
            campaigns.append(load_campaign(path))
        except CampaignError:
            continue
    return campaigns


def check_no_overlap(campaigns: list[Campaign]) -> None:
    """An account belongs to one campaign: no bucket may be served twice."""
    owner: dict[str, str] = {}
    for campaign in campaigns:
        for bucket in campaign.bucket_names:
            if bucket in owner:
                raise CampaignError(f"bucket {bucket} is served by both {owner[bucket]} and {campaign.id}")
            owner[bucket] = campaign.id


def validate_directory(directory: Path) -> dict[str, str | None]:
    """Each file's problem (None when it is fine), for ``outreach campaigns validate``."""
    results: dict[str, str | None] = {}
    loaded = []
    for path in campaign_files(directory):
        try:
            loaded.append(load_campaign(path))
            results[str(path)] = None
        except CampaignError as exc:
            results[str(path)] = str(exc)
    try:
        check_no_overlap(loaded)
    except CampaignError as exc:
        results[str(directory)] = str(exc)
    return results
