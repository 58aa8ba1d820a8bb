"""Where the consumer may be, as a set of IANA time zones.

Reg F judges convenience at the consumer's location and, when the file points
to several places, asks for a time convenient in all of them (12 CFR
1006.6(b)(1)(i) and its commentary). So every signal on file counts: the stated
zone alone when the consumer gave one, otherwise the address and every phone.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as phone_timezone

# Every mainland US zone plus Alaska and Hawaii: where an unplaceable US consumer may be.
US_FALLBACK_ZONES: tuple[str, ...] = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)
COUNTRY_ZONES: dict[str, tuple[str, ...]] = {"US": US_FALLBACK_ZONES, "CN": ("Asia/Shanghai",)}

ET, CT, MT, PT = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
# State -> zones. States split between zones list both: without a county-level table the
# address alone cannot say which side the consumer is on, so both must be convenient.
US_STATE_ZONES: dict[str, tuple[str, ...]] = {
    "AL": (CT,), "AK": ("America/Anchorage", "America/Adak"), "AZ": ("America/Phoenix",), "AR": (CT,),
    "CA": (PT,), "CO": (MT,), "CT": (ET,), "DE": (ET,), "DC": (ET,), "FL": (ET, CT), "GA": (ET,),
    "HI": ("Pacific/Honolulu",), "ID": (MT, PT), "IL": (CT,), "IN": (ET, CT), "IA": (CT,), "KS": (CT, MT),
    "KY": (ET, CT), "LA": (CT,), "ME": (ET,), "MD": (ET,), "MA": (ET,), "MI": (ET, CT), "MN": (CT,),
    "MS": (CT,), "MO": (CT,), "MT": (MT,), "NE": (CT, MT), "NV": (PT,), "NH": (ET,), "NJ": (ET,),
    "NM": (MT,), "NY": (ET,), "NC": (ET,), "ND": (CT, MT), "OH": (ET,), "OK": (CT,), "OR": (PT, MT),
    "PA": (ET,), "RI": (ET,), "SC": (ET,), "SD": (CT, MT), "TN": (CT, ET), "TX": (CT, MT), "UT": (MT,),
    "VT": (ET,), "VA": (ET,), "WA": (PT,), "WV": (ET,), "WI": (CT,), "WY": (MT,),
    "PR": ("America/Puerto_Rico",), "GU": ("Pacific/Guam",), "VI": ("America/St_Thomas",),
}  # fmt: skip
# Toll-free and non-geographic numbers map to dozens of zones and say nothing about location.
MAX_ZONES_PER_NUMBER = 2
# ZIP prefixes of the five boroughs, for city-level rules (NYC DCWP).
NYC_ZIP_PREFIXES = ("100", "101", "102", "103", "104", "110", "111", "112", "113", "114", "116")


# A number's zones are those of the longest prefix phonenumbers' time-zone table lists for it, and
# whether it is valid at all depends on its leading digits and its length (as for the pull's
# validation, ``outreach.accounts.phones``). So numbers alike in both share their zones, and a
# book of a million numbers is looked up once per prefix, not once per number.
VALIDITY_DIGITS = 7
PREFIXES_KEPT = 1 << 20


@lru_cache(maxsize=1)
def _longest_zone_prefix() -> dict[str, int]:
    """Digits of the longest prefix the time-zone table lists, by country calling code."""
    from phonenumbers.tzdata import TIMEZONE_DATA

    longest: dict[str, int] = {}
    for prefix in TIMEZONE_DATA:
        code = _calling_code(prefix)
        if code is not None:
            longest[code] = max(longest.get(code, 0), len(prefix))
    return longest


def _calling_code(digits: str) -> str | None:
    for size in (1, 2, 3):
        if digits[:size].isdigit() and int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[:size]
    return None


_zones_by_prefix: dict[tuple[str, int], tuple[str, ...]] = {}


_digits_by_lead: dict[str, int] = {}


def _key_digits(e164: str) -> int:
    """How many leading digits of an E.164 number decide its zones (0: not a number with a calling code)."""
    lead = e164[1:4]
    digits = _digits_by_lead.get(lead)
    if digits is None:
        code = _calling_code(lead)
        digits = _digits_by_lead[lead] = (
            0 if code is None else max(VALIDITY_DIGITS, _longest_zone_prefix().get(code, 0))
        )
    return digits


def zones_for_number(e164: str) -> tuple[str, ...]:
    digits = _key_digits(e164) if e164.startswith("+") and e164[1:].isdigit() else 0
    if not digits:
        return zones_looked_up(e164)
    key = (e164[: 1 + digits], len(e164))
    found = _zones_by_prefix.get(key)
    if found is None:
        if len(_zones_by_prefix) >= PREFIXES_KEPT:
            _zones_by_prefix.clear()
        found = _zones_by_prefix[key] = zones_looked_up(e164)
    return found


def zones_looked_up(number_text: str) -> tuple[str, ...]:
    """The zones phonenumbers gives one number (too many say nothing of where the consumer is)."""
    try:
        number = phonenumbers.parse(number_text)
    except phonenumbers.NumberParseException:
        return ()
    zones = tuple(z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown")
    return zones if 0 < len(zones) <= MAX_ZONES_PER_NUMBER else ()


def zones_for_address(country: str, region: str | None) -> tuple[str, ...]:
    if country == "US" and region:
        return US_STATE_ZONES.get(region.upper(), ())
    if country == "CN":
        return COUNTRY_ZONES["CN"]
    return ()


def candidate_zones(
    stated_timezone: str | None, phones: Iterable[str | None], country: str, region: str | None = None
) -> tuple[str, ...]:
    """Every zone the consumer may be in; the first is their primary zone for counting days."""
    if stated_timezone:
        return (stated_timezone,)
    zones: list[str] = []
    for zone in zones_for_address(country, region):
        if zone not in zones:
            zones.append(zone)
    for phone in phones:
        if phone:
            zones.extend(z for z in zones_for_number(phone) if z not in zones)
    return tuple(zones) if zones else COUNTRY_ZONES.get(country, US_FALLBACK_ZONES)


def city_for(country: str, postal_code: str | None) -> str | None:
    if country == "US" and postal_code and postal_code[:3] in NYC_ZIP_PREFIXES:
        return "NYC"
    return None
