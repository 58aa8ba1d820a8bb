"""Compact builders for policy questions: each test states only the facts it is about."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outreach.policy import AccountFacts, ContactEvent, ContactRequest, Suppression
from outreach.policy.model import Consent, Phone

NY_MOBILE = "+12125550142"
LA_HOME = "+13105550111"
CN_MOBILE = "+8613812345678"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def account(**overrides: Any) -> AccountFacts:
    facts: dict[str, Any] = {
        "account_id": "AC1",
        "country": "US",
        "region": "NY",
        "phones": [Phone(number=NY_MOBILE, type="mobile")],
        "emails": ["jane@example.com"],
        "consents": [Consent(scope="tcpa_automated"), Consent(scope="email")],
    }
    facts.update(overrides)
    return AccountFacts(**facts)


def ask(
    channel: str = "sms",
    at: str = "2026-11-18T17:00:00Z",
    address: str | None = NY_MOBILE,
    history: list[ContactEvent] | None = None,
    suppressions: list[Suppression] | None = None,
    **kwargs: Any,
) -> ContactRequest:
    facts = kwargs.pop("account", None) or account()
    if channel == "email" and address == NY_MOBILE:
        address = "jane@example.com"
    return ContactRequest(
        account=facts,
        channel=channel,
        address=address,
        at=utc(at),
        history=history or [],
        suppressions=suppressions or [],
        **kwargs,
    )


def call(at: str, outcome: str = "unknown", address: str = NY_MOBILE, kind: str = "attempt") -> ContactEvent:
    return ContactEvent(at=utc(at), channel="voice", kind=kind, outcome=outcome, address=address)


def text(at: str) -> ContactEvent:
    return ContactEvent(at=utc(at), channel="sms", address=NY_MOBILE)


def hold(reason: str, at: str = "2026-11-01T00:00:00Z", **scope: Any) -> Suppression:
    return Suppression(reason=reason, effective_at=utc(at), source="test", **scope)
