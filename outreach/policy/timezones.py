"""Where is the consumer, and when may we reach them there.

Reg F judges convenience at the consumer's location; when the file points to
several places, the allowed time is the one convenient in all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone

# Used when nothing on file places the consumer: every mainland US zone plus AK and HI.
US_FALLBACK_ZONES: tuple[str, ...] = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)
COUNTRY_ZONES: dict[str, tuple[str, ...]] = {"CN": ("Asia/Shanghai",), "US": US_FALLBACK_ZONES}
# Toll-free and non-geographic numbers map to dozens of zones and say nothing about location.
MAX_ZONES_PER_NUMBER = 2


def zones_for_number(e164: str) -> tuple[str, ...]:
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ()
    zones = tuple(z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown")
    return zones if 0 < len(zones) <= MAX_ZONES_PER_NUMBER else ()


def candidate_zones(stated_timezone: str | None, phones: Iterable[str | None], country: str) -> tuple[str, ...]:
    """Every zone the consumer may be in, most specific knowledge first."""
    if stated_timezone:
        return (stated_timezone,)
    zones: list[str] = []
    for phone in phones:
        if phone:
            zones.extend(z for z in zones_for_number(phone) if z not in zones)
    if zones:
        return tuple(zones)
    return COUNTRY_ZONES.get(country, US_FALLBACK_ZONES)


def allowed_window(zones: Iterable[str], day: date, start: time, end: time) -> tuple[datetime, datetime] | None:
    """The UTC interval of ``day`` that is between start and end local time in every zone.

    Each zone's window is computed on that calendar date through zoneinfo, so
    daylight-saving changes land where they should. None when the zones share no time.
    """
    lower: datetime | None = None
    upper: datetime | None = None
    for name in zones:
        zone = ZoneInfo(name)
        opens = datetime.combine(day, start, zone).astimezone(ZoneInfo("UTC"))
        closes = datetime.combine(day, end, zone).astimezone(ZoneInfo("UTC"))
        lower = opens if lower is None else max(lower, opens)
        upper = closes if upper is None else min(upper, closes)
    if lower is None or upper is None or upper - lower <= timedelta(0):
        return None
    return lower, upper
