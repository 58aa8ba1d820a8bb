"""What happens to a message, call or email in the sandbox: deterministic by address.

The last two digits of a phone number (or a word in an email's local part)
pick the outcome, so a test or a demo can aim at a behaviour by choosing the
address. Every other address succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Last two digits of the destination number -> (final status, Twilio error code).
SMS_OUTCOMES: dict[str, tuple[str, int | None]] = {
    "97": ("undelivered", 30003),  # unreachable handset
    "96": ("undelivered", 30005),  # unknown destination
    "95": ("undelivered", 30006),  # landline or unreachable carrier
    "94": ("undelivered", 30007),  # filtered by the carrier
    "93": ("failed", 30008),  # unknown error
}
# Numbers the sandbox refuses at request time: (HTTP status, Twilio code, message).
SMS_REFUSALS: dict[str, tuple[int, int, str]] = {
    "98": (400, 21614, "'To' number is not a valid mobile number"),
    "99": (400, 21610, "Attempt to send to unsubscribed recipient"),
}
# Last two digits -> (call status, answered by).
CALL_OUTCOMES: dict[str, tuple[str, str | None]] = {
    "92": ("busy", None),
    "91": ("no-answer", None),
    "90": ("failed", None),
    "89": ("completed", "machine_end_beep"),
}
EMAIL_OUTCOMES = {"bounce": "bounce", "spam": "spamreport", "block": "dropped"}
# Last two digits -> the Reassigned Numbers Database's answer ("no" for every other number).
RND_ANSWERS = {"88": "yes", "87": "no_data"}


@dataclass(frozen=True)
class SmsOutcome:
    status: str
    error_code: int | None


@dataclass(frozen=True)
class CallOutcome:
    status: str
    answered_by: str | None


def sms_refusal(number: str) -> tuple[int, int, str] | None:
    return SMS_REFUSALS.get(number[-2:])


def sms_outcome(number: str, extra: dict[str, Any] | None = None) -> SmsOutcome:
    rules = {**SMS_OUTCOMES, **{k: tuple(v) for k, v in (extra or {}).items()}}
    status, code = rules.get(number[-2:], ("delivered", None))
    return SmsOutcome(status, code)


def call_outcome(number: str, extra: dict[str, Any] | None = None) -> CallOutcome:
    rules = {**CALL_OUTCOMES, **{k: tuple(v) for k, v in (extra or {}).items()}}
    status, answered_by = rules.get(number[-2:], ("completed", "human"))
    return CallOutcome(status, answered_by)


def email_outcome(address: str, extra: dict[str, str] | None = None) -> str:
    local = address.split("@", 1)[0].lower()
    for word, event in {**EMAIL_OUTCOMES, **(extra or {})}.items():
        if word in local:
            return event
    return "delivered"


def reassigned(number: str) -> str:
    """The database's answer: "yes" (disconnected since the date, so maybe someone else's now), "no", "no_data"."""
    return RND_ANSWERS.get(number[-2:], "no")
