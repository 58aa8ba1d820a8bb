"""When an opt-out must be honoured by, from the moment the person gave it.

Outreach applies every opt-out the moment it is recorded; the deadline is the law's ceiling, kept
with each opt-out so a compliance officer can see any that were recorded, or contacted, after it
(an opt-out loaded late from another system, a send that went anyway).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import holidays as holiday_calendars

# TCPA revocation (rulebook TC-5, 47 CFR 64.1200(a)(10)) and CAN-SPAM (CS-2, 15 USC 7704(a)(4)):
# no later than 10 business days after receipt. Reg F sets none (US-12): immediate.
BUSINESS_DAYS_TO_HONOUR = 10
WITHIN_BUSINESS_DAYS = frozenset({"tcpa_revoked", "electronic_address_opt_out"})


@lru_cache(maxsize=16)
def _federal_holidays(year: int) -> holiday_calendars.HolidayBase:
    return holiday_calendars.country_holidays("US", years=[year, year + 1])


def add_business_days(start: datetime, days: int) -> datetime:
    """``start`` moved on by ``days`` US business days (weekends and federal holidays skipped)."""
    moved, left = start, days
    while left:
        moved += timedelta(days=1)
        if moved.weekday() < 5 and moved.date() not in _federal_holidays(moved.year):
            left -= 1
    return moved


def honour_by(reason: str, effective_at: datetime) -> datetime | None:
    """The latest instant an opt-out of this kind may take effect, counted from when it was given; None
    where the law sets no deadline (Reg F: at once, as outreach applies every hold)."""
    if reason in WITHIN_BUSINESS_DAYS:
        return add_business_days(effective_at, BUSINESS_DAYS_TO_HONOUR)
    return None
