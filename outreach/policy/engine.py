"""The decision for one planned contact: send (within a window), block, or review.

A pure function of the account's facts, its contact history and its
suppressions, so the same inputs always give the same decision and any past
decision can be explained. Deny by default: when a fact needed to allow a
contact is missing, the contact does not happen and the reason says which fact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from outreach.masking import mask_address
from outreach.policy.timezones import allowed_window, candidate_zones

Outcome = Literal["send", "block", "review"]

# Account flag -> (rule id, what a compliance officer reads).
FLAG_RULES: dict[str, tuple[str, str]] = {
    "paid_in_full": ("acct.paid_in_full", "account is paid in full"),
    "bankruptcy": ("bk.automatic_stay", "bankruptcy on file (automatic stay)"),
    "deceased": ("acct.deceased", "debtor is deceased"),
    "cease_and_desist": ("regf.cease", "consumer asked us to cease communication"),
    "dispute": ("regf.dispute_hold", "debt is disputed, pending verification"),
    "attorney": ("regf.attorney", "consumer is represented by an attorney"),
    "legal_hold": ("acct.legal_hold", "account is on legal hold"),
}

CONTACT_HOURS: dict[str, tuple[time, time, str]] = {
    "US": (time(8, 0), time(21, 0), "regf.window"),
    "CN": (time(8, 0), time(22, 0), "cn.window"),
}
DEFAULT_HOURS = CONTACT_HOURS["US"]

# Business caps on electronic contact (US-9): (per day, per 7 days, rule id).
ELECTRONIC_CAPS: dict[str, tuple[int, int, str]] = {
    "sms": (1, 3, "soft.sms_cap"),
    "email": (1, 4, "soft.email_cap"),
}
CALLS_PER_7_DAYS = 7
# Hand-offs to people are not contacts by the system; the team's own tools apply the window.
HAND_OFF_CHANNELS = frozenset({"agent_queue"})


@dataclass(frozen=True)
class ContactRequest:
    account: Mapping[str, Any]
    channel: str
    address: str | None
    business_date: date


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    rule_ids: tuple[str, ...]
    reason: str
    window_start: datetime | None = None
    window_end: datetime | None = None
    zones: tuple[str, ...] = field(default=())

    @property
    def primary_rule(self) -> str:
        return self.rule_ids[0] if self.rule_ids else ""


def _block(rules: Sequence[tuple[str, str]]) -> Decision:
    return Decision("block", tuple(r for r, _ in rules), "; ".join(text for _, text in rules))


def _flag_holds(account: Mapping[str, Any]) -> list[tuple[str, str]]:
    flags = [f for f in str(account.get("flags") or "").split("|") if f]
    return [FLAG_RULES[f] for f in flags if f in FLAG_RULES]


def suppression_holds(request: ContactRequest, suppressions: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    holds = []
    for row in suppressions:
        channel_matches = row.get("channel") in (None, request.channel)
        address_matches = row.get("address") in (None, request.address)
        if channel_matches and address_matches:
            scope = row.get("channel") or "all channels"
            where = f" at {mask_address(request.channel, row['address'])}" if row.get("address") else ""
            holds.append(("ledger.suppression", f"suppressed ({row['reason']}, {scope}{where}, via {row['source']})"))
    return holds


def _consent_holds(request: ContactRequest) -> list[tuple[str, str]]:
    account = request.account
    if request.channel == "sms" and account.get("collector_type") != "first_party":
        return [("twilio.no_third_party_collection", "third-party collection may not use SMS")]
    if request.channel == "sms" and not account.get("consent_sms"):
        return [("tcpa.consent", "no consent on file for automated texts")]
    if request.channel == "voice" and not account.get("consent_voice"):
        return [("tcpa.consent", "no consent on file for automated calls")]
    if request.channel == "email" and not account.get("consent_email"):
        return [("email.provenance", "no consent or safe-harbour provenance for this email address")]
    return []


def _cap_holds(request: ContactRequest, history: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    day = request.business_date
    same_channel = [h for h in history if h["channel"] == request.channel]
    # Calendar days, day 1 being the oldest: the 7-day window ending on the business date.
    in_week = [h for h in same_channel if day - timedelta(days=6) <= h["business_date"] <= day]
    if request.channel == "voice" and len(in_week) >= CALLS_PER_7_DAYS:
        return [("regf.7in7", f"{len(in_week)} call attempts in the last 7 days")]
    if request.channel in ELECTRONIC_CAPS:
        per_day, per_week, rule = ELECTRONIC_CAPS[request.channel]
        today = [h for h in in_week if h["business_date"] == day]
        if len(today) >= per_day:
            return [(rule, f"{len(today)} {request.channel} already today (cap {per_day})")]
        if len(in_week) >= per_week:
            return [(rule, f"{len(in_week)} {request.channel} in the last 7 days (cap {per_week})")]
    return []


def decide(
    request: ContactRequest,
    history: Sequence[Mapping[str, Any]] = (),
    suppressions: Sequence[Mapping[str, Any]] = (),
) -> Decision:
    """Decide one contact. ``history`` holds the account's earlier attempts
    (channel, business_date); ``suppressions`` its active suppressions."""
    holds = _flag_holds(request.account) + suppression_holds(request, suppressions)
    if holds:
        return _block(holds)
    if not request.address and request.channel not in HAND_OFF_CHANNELS:
        return _block([("contact.missing", f"no {request.channel} contact point on file")])
    if request.channel in HAND_OFF_CHANNELS:
        return Decision("send", (), "hand-off to a person")

    holds = _consent_holds(request) + _cap_holds(request, history)
    if holds:
        return _block(holds)

    account = request.account
    start, end, window_rule = CONTACT_HOURS.get(str(account.get("country")), DEFAULT_HOURS)
    phones = [account.get("mobile_phone"), account.get("home_phone"), account.get("work_phone")]
    zones = candidate_zones(account.get("stated_timezone"), phones, str(account.get("country")))
    window = allowed_window(zones, request.business_date, start, end)
    if window is None:
        return Decision(
            "review",
            ("tz.review",),
            f"no time between {start:%H:%M} and {end:%H:%M} is convenient in all of {', '.join(zones)}",
            zones=zones,
        )
    return Decision(
        "send",
        (window_rule,),
        f"allowed {start:%H:%M}-{end:%H:%M} local time in {', '.join(zones)}",
        window_start=window[0],
        window_end=window[1],
        zones=zones,
    )
