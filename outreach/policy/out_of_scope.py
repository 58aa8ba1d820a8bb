"""Questions the contact policy refuses because the product never does what they ask about.

The what-if command answers "may we contact this person, on this channel, now?". Some questions
a compliance officer may put to it are about things outreach does not do at all; those get a plain
refusal that says so and names the rule, instead of a schema error about an unknown channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Furnishing to a consumer reporting agency: outreach never reports to a credit bureau.
CREDIT_REPORTING = {"credit_report", "credit_reporting", "credit_bureau", "bureau", "furnishing", "furnish"}
CREDIT_REPORTING_REFUSAL = (
    "outreach does not report to credit bureaus, so it never furnishes information about a debt, before or "
    "after contacting the consumer (rulebook US-25, 12 CFR 1006.30(a)). A bank that reports does so outside "
    "outreach, and must first speak to the consumer about the debt, or send a message about it and wait a "
    "reasonable time (14 consecutive days) for a notice that it could not be delivered."
)


def refusal(document: Any) -> str | None:
    """Why this question is outside what outreach does, or None when the policy can answer it."""
    if not isinstance(document, Mapping):
        return None
    asked = {str(document.get(field) or "").strip().lower() for field in ("channel", "purpose", "delivery_mode")}
    if asked & CREDIT_REPORTING:
        return CREDIT_REPORTING_REFUSAL
    return None
