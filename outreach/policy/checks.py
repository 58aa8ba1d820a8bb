"""One function per rule kind. Each looks at the request at one instant and says
pass, block, review, or defer until a later instant, with a reason a person can read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from outreach.masking import mask_address
from outreach.policy.intervals import Interval, intersect, normalise
from outreach.policy.model import ContactEvent, ContactRequest, Suppression
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


@dataclass(frozen=True)
class Context:
    request: ContactRequest
    at: datetime
    zones: tuple[str, ...]

    @property
    def primary(self) -> ZoneInfo:
        return ZoneInfo(self.zones[0])

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.primary).date()

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.primary).astimezone(UTC)


PASS = Finding("pass", "")
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


def check_suppression(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    modes = rule.params.get("modes")
    if modes is not None and request.delivery_mode not in modes:
        return PASS
    holds = _matching_holds(ctx, rule.params["reason"])
    if not holds or request.purpose in rule.params.get("allow_purposes", []):
        return PASS
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


def check_collector_channel(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    if request.account.collector_type in rule.params["collector_types"] and request.channel in rule.params["channels"]:
        return Finding("block", f"{rule.summary} ({request.account.collector_type} collector)")
    return PASS


def check_opt_out_confirmation(ctx: Context, rule: Rule) -> Finding:
    request = ctx.request
    if request.purpose != "opt_out_confirmation":
        return PASS
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


def _counted(ctx: Context, rule: Rule) -> list[ContactEvent]:
    params = rule.params
    events = [e for e in ctx.request.history if e.at <= ctx.at and e.channel in params["channels"]]
    events = [e for e in events if e.kind in params.get("kinds", ["attempt"])]
    if params.get("outcomes"):
        events = [e for e in events if e.outcome in params["outcomes"]]
    if params.get("exclude_outcomes"):
        events = [e for e in events if e.outcome not in params["exclude_outcomes"]]
    if params.get("scope") == "address":
        events = [e for e in events if e.address == ctx.request.address]
    return events


def check_event_cap(ctx: Context, rule: Rule) -> Finding:
    if not _applies_to_channel(rule, ctx.request.channel):
        return PASS
    # Caps limit collection contact. The opt-out confirmation has its own rule (TC-6: one, within
    # 5 minutes); deferring it past a cap would mean it could never go.
    if ctx.request.purpose == "opt_out_confirmation":
        return PASS
    days, maximum = int(rule.params["days"]), int(rule.params["max"])
    event_days = [ctx.local_date(e.at) for e in _counted(ctx, rule)]
    today = ctx.local_date(ctx.at)

    def count_on(day: date) -> int:
        return sum(1 for d in event_days if day - timedelta(days=days - 1) <= d <= day)

    current = count_on(today)
    if current < maximum:
        return PASS
    day = today + timedelta(days=1)
    while count_on(day) >= maximum:
        day += timedelta(days=1)
    span = "today" if days == 1 else f"in the last {days} days"
    return Finding("defer", f"{rule.summary} ({current} {span})", not_before=ctx.local_midnight(day))


def check_blackout(ctx: Context, rule: Rule) -> Finding:
    if ctx.request.channel not in rule.params["channels"]:
        return PASS
    triggers = [e for e in ctx.request.history if e.kind in rule.params["trigger_kinds"] and e.at <= ctx.at]
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
        e.at
        for e in ctx.request.history
        if e.channel in rule.params["channels"] and e.address == ctx.request.address and e.at <= ctx.at
    ]
    if previous and ctx.at < max(previous) + gap:
        return Finding("defer", rule.summary, not_before=max(previous) + gap)
    return PASS


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
    "opt_out_confirmation": check_opt_out_confirmation,
    "contact_window": check_contact_window,
    "inconvenient_times": check_inconvenient_times,
    "avoid_days": check_avoid_days,
    "event_cap": check_event_cap,
    "blackout": check_blackout,
    "min_gap": check_min_gap,
    "template": check_template,
}
