"""What kind of number a text goes out from, which decides who handles the opt-out (PR-3).

A toll-free number's STOP is handled by the carrier: it sends its own fixed confirmation,
and only START or UNSTOP subscribes the person again (YES does not). Long codes and short
codes leave both to the sender.
"""

from __future__ import annotations

import os
from functools import lru_cache

import phonenumbers

from outreach.policy.model import SenderType

# Short codes are 3 to 8 digits with no country code (5 or 6 in the US).
SHORT_CODE_DIGITS = range(3, 9)
CARRIER_OPT_IN_WORDS = frozenset({"start", "unstop"})


@lru_cache(maxsize=64)
def sender_type(number: str | None) -> SenderType | None:
    """long_code, toll_free or short_code for a sender number; None when there is none."""
    if not number:
        return None
    digits = "".join(ch for ch in number if ch.isdigit())
    if not number.startswith("+") and len(digits) in SHORT_CODE_DIGITS:
        return "short_code"
    try:
        parsed = phonenumbers.parse(number, None if number.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return "long_code"
    return "toll_free" if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE else "long_code"


def configured_sms_sender() -> SenderType | None:
    """The sender type of the number texts go out from (``OUTREACH_SMS_FROM``)."""
    return sender_type(os.environ.get("OUTREACH_SMS_FROM"))
