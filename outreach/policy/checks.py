"""One function per rule kind. Each looks at the request at one instant and says
pass, block, review, or defer until a later instant, with a reason a person can read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from outreach.masking import mask_address
from outreach.policy.history import Contact, contacts
from outreach.policy.intervals import Interval, intersect, normalise
from outreach.policy.model import ContactRequest, NumberCheck, Suppression
from outreach.policy.rules import Rule

HORIZON_DAYS = 16
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Finding:
    outcome: Literal["pass", "block", "review", "defer"]
    reason: str
    not_before: datetime | None = None
    window_end: datetime | None = None
    # A hold that would stop the contact does not, by an exception the law makes (an attorney who
    # never answered): whatever else the decision says, a person reading it must see this.
    lifts_hold: bool = False


@dataclass(frozen=True)
class Context:
    request: ContactRequest
    at: datetime
    zones: tuple[str, ...]

    @cached_property
    def contacts(self) -> tuple[Contact, ...]:
        return contacts(self.request.history)

    @property
    def primary(self) -> ZoneInfo:
        return ZoneInfo(self.zones[0])

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.primary).date()

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.primary).astimezone(UTC)


PASS = Finding("pass", "")
# Contacts that communicate (convey something about the debt): a text, email or letter that was not
# lost, or a call that reached the person. A limited-content voicemail is not one (12 CFR 1006.2(d), (j)).
WRITTEN_CHANNELS = frozenset({"sms", "email", "letter"})
LOST = frozenset({"failed", "bounced"})
Check = Callable[[Context, Rule], Finding]


def _applies_to_channel(rule: Rule, channel: str) -> bool:
    channels = rule.params.get("applies_to") or rule.params.get("channels")
    return channels is None or channel in channels


# -- holds ----------------------------------------------------------------------------


def _matching_holds(ctx: Context, reason: str) -> list[Suppression]:
    request = ctx.request
    holds = [s for s in request.suppressions if s.reason == reason and s.active_at(ctx.at)]
    holds = [s for s in holds if s.channel in (None, request.channel) and s.address in (None, request.address)]
    if reason in request.account.flags:
        holds.append(Suppression(reason=reason, effective_at=datetime.min.replace(tzinfo=UTC), source="account"))
    return holds


def _attorney_silent_since(ctx: Context, since: datetime, days: int) -> datetime | None:
    """When the attorney was last reached after the hold began and has not answered for ``days``
    since (US-19), if so. A contact that was lost is not one; a conversation is an answer, and so is
    any reply from where the attorney was reached: a reply does not say who sent it, its address does."""
    with_attorney = [c for c in ctx.contacts if c.event.recipient == "attorney" and since <= c.at <= ctx.at]
    asked = [c.at for c in with_attorney if "attempt" in c.kinds and c.outcome not in LOST]
    if not asked or ctx.at < max(asked) + timedelta(days=days):
        return None
    last = max(asked)
    attorney_addresses = {c.address for c in with_attorney if c.address}
    answered = any(
        c.kinds & {"inbound", "conversation"} and (c.event.recipient == "attorney" or c.address in attorney_addresses)
        for c in ctx.contacts
        if last <= c.at <= ctx.at
    )
    return None if answered else last


def check_suppression(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    modes = rule.params.get("modes")
    if modes is not None and request.delivery_mode not in modes:
        return PASS
    recipients = rule.params.get("recipients")
    if recipients is not None and request.recipient not in recipients:
        return PASS
    holds = _matching_holds(ctx, rule.params["reason"])
    if not holds or request.purpose in rule.params.get("allow_purposes", []):
        return PASS
    if rule.params.get("attorney_reply_days"):
        days = int(rule.params["attorney_reply_days"])
        silent_since = _attorney_silent_since(ctx, min(h.effective_at for h in holds), days)
        if silent_since is not None:
            return Finding(
                "pass",
                f"the attorney has not answered within {days} days of our contact on "
                f"{ctx.local_date(silent_since)}: contact with the consumer may resume ({rule.citation})",
                lifts_hold=True,
            )
    hold = holds[0]
    scope = hold.channel or "all channels"
    where = f" at {mask_address(request.channel, hold.address)}" if hold.address else ""
    detail = f" {hold.detail}" if hold.detail else ""
    allowed = rule.params.get("allow_purposes") or []
    allows = f"; only {', '.join(allowed)} may go" if allowed else ""
    return Finding("block", f"{rule.summary} ({hold.reason}{detail}, {scope}{where}, via {hold.source}){allows}")


# -- who and how ----------------------------------------------------------------------


def check_contact_point(ctx: Context, rule: Rule) -> Finding:
    if _applies_to_channel(rule, ctx.request.channel) and not ctx.request.address:
        return Finding("block", f"no {ctx.request.channel} contact point on file")
    return PASS


def check_consent(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    if request.channel not in rule.params["channels"] or request.delivery_mode not in rule.params["modes"]:
        return PASS
    for consent in request.account.consents:
        if consent.scope != rule.params["scope"]:
            continue
        if consent.address not in (None, request.address):
            continue
        if consent.channels is not None and request.channel not in consent.channels:
            continue
        if consent.obtained_at is not None and consent.obtained_at > ctx.at:
            continue
        if consent.revoked_at is not None and consent.revoked_at <= ctx.at:
            continue
        return PASS
    return Finding("block", f"{rule.summary} None on file for this {request.channel} {request.delivery_mode} contact")


def check_recipient(ctx: Context, rule: Rule) -> Finding:
    """Who may be contacted at all, and a third party only to ask where the consumer is."""
    request = ctx.request
    allowed = rule.params.get("allowed")
    if allowed is not None and request.recipient not in allowed:
        return Finding("block", f"{rule.summary} (the contact is with the {request.recipient.replace('_', ' ')})")
    if request.recipient != "third_party" or "location_only" not in rule.params:
        return PASS
    if request.purpose != "location":
        purpose = request.purpose.replace("_", " ")
        return Finding("block", f"{rule.summary} This {purpose} contact is not a location request")
    if request.template is not None and request.template.mentions_debt:
        return Finding("block", f"{rule.summary} Template {request.template.name} mentions the debt")
    earlier = [
        c
        for c in ctx.contacts
        if c.event.recipient == "third_party"
        and c.event.purpose == "location"
        and c.address == request.address
        and "attempt" in c.kinds
        and c.at <= ctx.at
    ]
    if earlier:
        first = min(c.at for c in earlier)
        return Finding("block", f"{rule.summary} This person was already asked on {ctx.local_date(first)}")
    return PASS


def check_agency(ctx: Context, rule: Rule) -> Finding:
    """An outside agency collects only if it is on the bank's list and the debtor was told of it first."""
    account = ctx.request.account
    if account.collector_type not in rule.params["collector_types"]:
        return PASS
    agency = account.agency
    if agency is None:
        return Finding("block", f"{rule.summary} The collecting agency is not named")
    if not agency.on_bank_list:
        return Finding("block", f"{rule.summary} {agency.name} is not on the bank's list of agencies")
    if agency.debtor_told_at is None or agency.debtor_told_at > ctx.at:
        return Finding("block", f"{rule.summary} The debtor has not been told that {agency.name} collects the debt")
    return PASS


def check_collector_channel(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    providers = rule.params.get("providers")
    if providers is not None and request.provider is not None and request.provider.lower() not in providers:
        return PASS
    if request.account.collector_type in rule.params["collector_types"] and request.channel in rule.params["channels"]:
        return Finding("block", f"{rule.summary} ({request.account.collector_type} collector)")
    return PASS


def check_opt_out_confirmation(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    if request.purpose != "opt_out_confirmation":
        return PASS
    if request.sender_type in rule.params.get("carrier_confirms", []):
        return Finding(
            "block",
            f"the carrier confirms an opt-out from a {request.sender_type.replace('_', '-')} number itself;"
            " a confirmation of our own would be a second one (Twilio toll-free STOP filtering)",
        )
    limit = timedelta(minutes=rule.params["minutes"])
    opt_outs = [
        s
        for s in request.suppressions
        if s.reason in ("electronic_address_opt_out", "tcpa_revoked")
        and s.address == request.address
        and s.effective_at <= ctx.at
    ]
    if not opt_outs:
        return Finding("block", "an opt-out confirmation needs an opt-out to confirm")
    latest = max(s.effective_at for s in opt_outs)
    if ctx.at - latest > limit:
        return Finding("block", f"{rule.summary} The opt-out was more than {rule.params['minutes']} minutes ago")
    if any(e.kind == "opt_out_confirmation" and e.at >= latest for e in request.history):
        return Finding("block", f"{rule.summary} A confirmation was already sent")
    return PASS


def _communicated(contact: Contact) -> bool:
    if contact.event.recipient != "debtor" or contact.outcome in LOST:
        return False
    return ("attempt" in contact.kinds and contact.channel in WRITTEN_CHANNELS) or "conversation" in contact.kinds


def check_validation_notice(ctx: Context, rule: Rule) -> Finding:
    """The validation notice goes in the initial communication or within 5 days of it (US-21)."""
    request = ctx.request
    if request.purpose != "collection" or request.recipient != "debtor":
        return PASS
    account = request.account
    past = [c for c in ctx.contacts if c.at <= ctx.at]
    notices = [c.at for c in past if c.event.purpose == "validation_notice" and c.outcome not in LOST]
    given = account.validation_notice_at or (min(notices) if notices else None)
    if given is not None and given <= ctx.at:
        return PASS
    communications = [c.at for c in past if _communicated(c)]
    first = account.initial_communication_at or (min(communications) if communications else None)
    days = int(rule.params["within_days"])
    if first is None or first > ctx.at:
        return Finding(
            "pass", f"this would be the initial communication: the validation notice is due within {days} days"
        )
    due = first + timedelta(days=days)
    if ctx.at <= due:
        return Finding(
            "pass", f"validation notice due by {due:%Y-%m-%d %H:%M} UTC ({days} days after the first communication)"
        )
    return Finding(
        "block",
        f"{rule.summary} No notice on record and the initial communication was on {ctx.local_date(first)}:"
        f" it was due by {ctx.local_date(due)}; only the validation notice may go now",
    )


def _latest_number_check(ctx: Context) -> NumberCheck | None:
    # Any answer on file counts, even one given after the instant asked about: a day planned (or
    # replayed) before its checks finished still knows what the database said.
    checks = [c for c in ctx.request.number_checks if c.number == ctx.request.address]
    return max(checks, key=lambda c: c.checked_at) if checks else None


def check_reassigned(ctx: Context, rule: Rule) -> Finding:
    """A number the database says was disconnected since consent may be someone else's now (TC-8)."""
    request = ctx.request
    if request.channel not in rule.params["channels"] or request.delivery_mode not in rule.params["modes"]:
        return PASS
    reported = _reported_reassigned(ctx)
    if reported is None:
        return PASS
    return Finding(
        "block",
        f"{rule.summary} The Reassigned Numbers Database answered on {ctx.local_date(reported.checked_at)} that"
        f" {mask_address(request.channel, request.address)} was disconnected since the consent was given;"
        " confirm the number with the consumer (a text from them from it does)",
    )


def _reported_reassigned(ctx: Context) -> NumberCheck | None:
    """The latest "reassigned" answer for the number not since answered by the consumer texting from it.

    A later "no" does not lift it: asked again about a later date, the database only says the number
    was not disconnected again since then."""
    reported = [c for c in ctx.request.number_checks if c.number == ctx.request.address and c.answer == "yes"]
    if not reported:
        return None
    latest = max(reported, key=lambda c: c.checked_at)
    their_texts = [
        c.at for c in ctx.contacts if "inbound" in c.kinds and c.channel == "sms" and c.address == ctx.request.address
    ]
    return None if any(at > latest.checked_at for at in their_texts) else latest


def check_text_safe_harbour(ctx: Context, rule: Rule) -> Finding:
    """A debt collector texts a number only with a basis (12 CFR 1006.6(d)(5), rulebook US-14)."""
    request = ctx.request
    if request.channel != "sms" or request.purpose == "opt_out_confirmation":
        return PASS
    days = timedelta(days=int(rule.params["within_days"]))
    their_texts = [
        c.at
        for c in ctx.contacts
        if "inbound" in c.kinds and c.channel == "sms" and c.address == request.address and c.at <= ctx.at
    ]
    if their_texts and ctx.at - max(their_texts) <= days:
        return Finding("pass", f"the consumer texted from this number on {ctx.local_date(max(their_texts))}")
    latest = _latest_number_check(ctx)
    consented = any(
        consent.scope == "tcpa_automated"
        and consent.address in (None, request.address)
        and (consent.channels is None or "sms" in consent.channels)
        and (consent.revoked_at is None or consent.revoked_at > ctx.at)
        for consent in request.account.consents
    )
    fresh = (
        latest is not None
        and latest.answer == "no"
        and ctx.at - latest.checked_at <= days
        and _reported_reassigned(ctx) is None
    )
    if fresh and (consented or their_texts):
        basis = "consent to texts" if consented else "an earlier text from the consumer"
        return Finding(
            "pass",
            f"{basis}, and the Reassigned Numbers Database answered 'not reassigned' on"
            f" {ctx.local_date(latest.checked_at)}",
        )
    if latest is None or ctx.at - latest.checked_at > days:
        missing = f"no Reassigned Numbers Database answer within {days.days} days"
    else:
        missing = f"the Reassigned Numbers Database answered '{latest.answer}'"
    return Finding("review", f"{rule.summary} No basis: {missing} and no text from the consumer in that time")


# -- when -------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _zone_windows(zone: str, first: date, days: int, start: time, end: time) -> tuple[Interval, ...]:
    tz = ZoneInfo(zone)
    return tuple(
        (
            datetime.combine(first + timedelta(days=n), start, tz).astimezone(UTC),
            datetime.combine(first + timedelta(days=n), end, tz).astimezone(UTC),
        )
        for n in range(days)
    )


@lru_cache(maxsize=65536)
def allowed_intervals(
    zones: tuple[str, ...], around: date, start: time, end: time, buffer_minutes: int, min_slot_minutes: int
) -> tuple[Interval, ...]:
    """UTC intervals within the next ~two weeks that are between start and end in every zone."""
    first = around - timedelta(days=2)
    allowed: list[Interval] | None = None
    for zone in zones:
        windows = list(_zone_windows(zone, first, HORIZON_DAYS + 2, start, end))
        allowed = windows if allowed is None else intersect(allowed, windows)
    buffer = timedelta(minutes=buffer_minutes)
    slot = timedelta(minutes=min_slot_minutes)
    return tuple((s, e - buffer) for s, e in normalise(allowed or []) if (e - buffer) - s >= slot)


def check_contact_window(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    if request.channel not in rule.params["channels"]:
        return PASS
    start, end = time.fromisoformat(str(rule.params["start"])), time.fromisoformat(str(rule.params["end"]))
    intervals = allowed_intervals(
        ctx.zones,
        ctx.at.date(),
        start,
        end,
        int(rule.params.get("end_buffer_minutes", 0)),
        int(rule.params.get("min_slot_minutes", 0)),
    )
    where = ", ".join(ctx.zones)
    for opens, closes in intervals:
        if opens <= ctx.at < closes:
            return Finding("pass", f"within {start:%H:%M}-{end:%H:%M} local time in {where}", window_end=closes)
        if opens > ctx.at:
            return Finding(
                "defer",
                f"outside {start:%H:%M}-{end:%H:%M} local time in {where}; next opens {opens:%Y-%m-%d %H:%M} UTC",
                not_before=opens,
                window_end=closes,
            )
    return Finding(
        "review",
        f"no time between {start:%H:%M} and {end:%H:%M} is convenient in all of {where}; a person must decide",
    )


def check_inconvenient_times(ctx: Context, rule: Rule) -> Finding:
    designated = ctx.request.account.inconvenient_times
    if not designated or ctx.request.channel in ("letter", "agent_queue"):
        return PASS
    today = ctx.local_date(ctx.at)
    blocked: list[Interval] = []
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        for item in designated:
            if WEEKDAYS[day.weekday()] in item.days:
                opens = datetime.combine(day, item.start, ctx.primary).astimezone(UTC)
                closes = datetime.combine(
                    day if item.end > item.start else day + timedelta(days=1), item.end, ctx.primary
                ).astimezone(UTC)
                blocked.append((opens, closes))
    for opens, closes in normalise(blocked):
        if opens <= ctx.at < closes:
            return Finding(
                "defer",
                f"the consumer said {opens.astimezone(ctx.primary):%a %H:%M}-"
                f"{closes.astimezone(ctx.primary):%H:%M} local time is inconvenient",
                not_before=closes,
            )
    return PASS


@lru_cache(maxsize=64)
def _holiday_calendar(country: str, year: int) -> holiday_calendars.HolidayBase:
    return holiday_calendars.country_holidays(country, years=[year, year + 1])


def check_avoid_days(ctx: Context, rule: Rule) -> Finding:
    for spec in rule.params["rules"]:
        if ctx.request.channel not in spec["channels"]:
            continue
        day = ctx.local_date(ctx.at)
        reasons = []
        for _ in range(30):
            calendar = _holiday_calendar(spec["holidays"], day.year) if spec.get("holidays") else {}
            if WEEKDAYS[day.weekday()] in spec.get("weekdays", []):
                reasons.append(f"{day:%A}")
            elif day in calendar:
                reasons.append(f"{calendar.get(day)}")
            else:
                break
            day += timedelta(days=1)
        if reasons:
            return Finding("defer", f"{rule.summary} ({', '.join(reasons)})", not_before=ctx.local_midnight(day))
    return PASS


# -- how often --------------------------------------------------------------------------


def _counted(ctx: Context, rule: Rule) -> tuple[list[Contact], list[str]]:
    """The contacts the cap counts, and what it left out by an exemption (said when it allows one)."""
    params = rule.params
    # Caps are per person: a call to the consumer's attorney is not a call to the consumer (US-7(iii)).
    counted = [
        c
        for c in ctx.contacts
        if c.at <= ctx.at and c.channel in params["channels"] and c.event.recipient == ctx.request.recipient
    ]
    counted = [c for c in counted if c.kinds & set(params.get("kinds", ["attempt"]))]
    if params.get("outcomes"):
        counted = [c for c in counted if c.outcome in params["outcomes"]]
    if params.get("exclude_outcomes"):
        counted = [c for c in counted if c.outcome not in params["exclude_outcomes"]]
    exempt: list[str] = []
    if params.get("exempt_no_message_possible"):
        kept = [c for c in counted if not c.no_message_possible]
        if len(kept) < len(counted):
            exempt.append(f"{len(counted) - len(kept)} unanswered where no message could be left")
        counted = kept
    if params.get("exempt_days_after_direct_consent"):
        days = int(params["exempt_days_after_direct_consent"])
        consents = ctx.request.account.consents
        kept = [c for c in counted if not c.placed_with_direct_consent(consents, days)]
        if len(kept) < len(counted):
            exempt.append(f"{len(counted) - len(kept)} within {days} days of the consumer's direct consent")
        counted = kept
    if params.get("scope") == "address":
        counted = [c for c in counted if c.address == ctx.request.address]
    return counted, exempt


def check_event_cap(ctx: Context, rule: Rule) -> Finding:
    if not _applies_to_channel(rule, ctx.request.channel):
        return PASS
    # Caps limit collection contact. The opt-out confirmation has its own rule (TC-6: one, within
    # 5 minutes); deferring it past a cap would mean it could never go.
    if ctx.request.purpose == "opt_out_confirmation":
        return PASS
    days, maximum = int(rule.params["days"]), int(rule.params["max"])
    counted, exempt = _counted(ctx, rule)
    event_days = [ctx.local_date(e.at) for e in counted]
    today = ctx.local_date(ctx.at)

    def count_on(day: date) -> int:
        return sum(1 for d in event_days if day - timedelta(days=days - 1) <= d <= day)

    current = count_on(today)
    if current < maximum:
        if exempt:
            return Finding(
                "pass", f"{current} of {maximum} counted; not counted: {'; '.join(exempt)} ({rule.citation})"
            )
        return PASS
    day = today + timedelta(days=1)
    while count_on(day) >= maximum:
        day += timedelta(days=1)
    span = "today" if days == 1 else f"in the last {days} days"
    return Finding("defer", f"{rule.summary} ({current} {span})", not_before=ctx.local_midnight(day))


def check_blackout(ctx: Context, rule: Rule) -> Finding:
    if ctx.request.channel not in rule.params["channels"]:
        return PASS
    triggers = [c for c in ctx.contacts if c.kinds & set(rule.params["trigger_kinds"]) and c.at <= ctx.at]
    if not triggers:
        return PASS
    day_one = ctx.local_date(max(e.at for e in triggers))
    reopens = day_one + timedelta(days=int(rule.params["days"]))
    if ctx.local_date(ctx.at) < reopens:
        return Finding("defer", f"{rule.summary} (conversation on {day_one})", not_before=ctx.local_midnight(reopens))
    return PASS


def check_min_gap(ctx: Context, rule: Rule) -> Finding:
    if ctx.request.channel not in rule.params["channels"]:
        return PASS
    gap = timedelta(minutes=int(rule.params["minutes"]))
    previous = [
        c.at
        for c in ctx.contacts
        if c.channel in rule.params["channels"] and c.address == ctx.request.address and c.at <= ctx.at
    ]
    if previous and ctx.at < max(previous) + gap:
        return Finding("defer", rule.summary, not_before=max(previous) + gap)
    return PASS


# -- records ----------------------------------------------------------------------------


def check_recording(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    if request.channel not in rule.params["channels"]:
        return PASS
    days = int(rule.params["retention_days"])
    if request.recorded is False:
        return Finding("block", f"{rule.summary} This call would not be recorded")
    return Finding("pass", f"the call is recorded and the recording kept {days} days ({rule.citation})")


def recording_days(request: ContactRequest, applicable: list[Rule]) -> int | None:
    """How long this call's recording must be kept, when a rule requires one; None otherwise."""
    days = [
        int(rule.params["retention_days"])
        for rule in applicable
        if rule.kind == "recording" and request.channel in rule.params["channels"]
    ]
    return max(days) if days else None


# -- what the message says -------------------------------------------------------------


def check_template(ctx: Context, rule: Rule) -> Finding:
    request, traits = ctx.request, ctx.request.template
    if traits is None or request.channel not in rule.params["channels"]:
        return PASS
    check = rule.params["check"]
    if check == "opt_out" and not traits.has_opt_out:
        return Finding("block", f"{rule.summary} Template {traits.name} has none")
    if check == "legal_threat" and request.account.time_barred and traits.legal_threat_words:
        words = ", ".join(traits.legal_threat_words)
        return Finding("block", f"{rule.summary} Template {traits.name} says: {words}")
    if check == "limited_content" and not traits.is_limited_content:
        return Finding("review", f"{rule.summary} Template {traits.name} says more than that")
    return PASS


CHECKS: dict[str, Check] = {
    "suppression": check_suppression,
    "contact_point": check_contact_point,
    "consent": check_consent,
    "collector_channel": check_collector_channel,
    "recipient": check_recipient,
    "agency": check_agency,
    "validation_notice": check_validation_notice,
    "opt_out_confirmation": check_opt_out_confirmation,
    "contact_window": check_contact_window,
    "inconvenient_times": check_inconvenient_times,
    "avoid_days": check_avoid_days,
    "event_cap": check_event_cap,
    "blackout": check_blackout,
    "min_gap": check_min_gap,
    "template": check_template,
    "recording": check_recording,
    "reassigned": check_reassigned,
    "text_safe_harbour": check_text_safe_harbour,
}


# The input facts (paths in the what-if schema) each kind of check reads; with the parameters
# that make a check read more. Listed by ``outreach policy rules``.
WHEN = ("at", "account.stated_timezone", "account.phones", "account.country", "account.region")
HISTORY = ("history.at", "history.channel", "history.kind", "history.outcome", "history.address", "history.recipient")
FACTS_READ: dict[str, tuple[str, ...]] = {
    "suppression": ("suppressions", "account.flags", "channel", "address", "purpose", "at"),
    "contact_point": ("channel", "address"),
    "consent": ("account.consents", "channel", "address", "delivery_mode", "at"),
    "recipient": ("recipient", "purpose", "address", "template.mentions_debt", *HISTORY, "history.purpose"),
    "agency": ("account.collector_type", "account.agency"),
    "validation_notice": (
        "purpose",
        "recipient",
        "account.validation_notice_at",
        "account.initial_communication_at",
        *HISTORY,
        "history.purpose",
    ),
    "collector_channel": ("account.collector_type", "channel", "provider"),
    "opt_out_confirmation": ("purpose", "sender_type", "suppressions", "history.kind", "at"),
    "contact_window": ("channel", *WHEN),
    "inconvenient_times": ("account.inconvenient_times", "channel", *WHEN),
    "avoid_days": ("channel", *WHEN),
    "event_cap": ("channel", "purpose", "recipient", *HISTORY, *WHEN),
    "blackout": ("channel", *HISTORY, *WHEN),
    "min_gap": ("channel", "address", "history.at", "history.channel", "history.address", "at"),
    "template": ("template", "channel", "account.time_barred"),
    "recording": ("channel", "recorded"),
    "reassigned": ("channel", "address", "delivery_mode", "number_checks", "at"),
    "text_safe_harbour": ("channel", "address", "purpose", "number_checks", "account.consents", *HISTORY),
}
EXTRA_FACTS = {
    "modes": ("delivery_mode",),
    "recipients": ("recipient",),
    "attorney_reply_days": ("history.recipient", "history.kind"),
    "exempt_no_message_possible": ("history.message_could_be_left",),
    "exempt_days_after_direct_consent": ("account.consents",),
}


def facts_read(rule: Rule) -> tuple[str, ...]:
    """Every input fact the rule's check reads, in the order first read."""
    extra = [fact for param, facts in EXTRA_FACTS.items() if param in rule.params for fact in facts]
    return tuple(dict.fromkeys([*FACTS_READ[rule.kind], *extra]))
