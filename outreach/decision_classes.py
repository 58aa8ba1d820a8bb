"""One policy decision for every step whose facts are the same.

A day's plan asks the contact policy tens of thousands of questions, and most of them are the
same question: an account with no contact, reply, number check or suppression on file for the
address in question is judged only on where it is, its consents and holds, its collector facts,
the channel, the template and the instant asked. Such steps are put in classes by those facts,
read from the snapshot's columns, and the engine is asked once per class. A step with anything
on file for its contact is asked on its own. The engine stays the only judge: a class's answer
is the engine's answer for one of its members, and a property test checks that every member of a
class gets the answer it would get asked on its own, decision for decision and reason for reason.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outreach.parties import LOCATION_REQUESTS, recipient_of
from outreach.policy import ContactRequest, Decision, RuleSet
from outreach.policy import decide as engine_decides
from outreach.policy import facts as policy_facts
from outreach.policy.engine import recording_retention_days
from outreach.policy.facts import PHONE_TYPES, SHARED_FACT_COLUMNS
from outreach.policy.senders import configured_sms_sender
from outreach.policy.zones import candidate_zones, city_for
from outreach.template_checks import OPT_OUT_CONFIRMATIONS, VALIDATION_NOTICES, traits_for


def purpose_of(template: str) -> str:
    if template in OPT_OUT_CONFIRMATIONS:
        return "opt_out_confirmation"
    if template in LOCATION_REQUESTS:
        return "location"
    return "validation_notice" if template in VALIDATION_NOTICES else "collection"


def contact_request(
    account: Mapping[str, Any],
    channel: str,
    template: str,
    address: str | None,
    at: datetime,
    events: list[dict[str, Any]],
    suppressions: list[dict[str, Any]],
) -> ContactRequest:
    """The policy question for one step of one account."""
    facts = policy_facts.account_facts(account)
    direct = policy_facts.direct_call_consents(events)
    if direct:
        facts = facts.model_copy(update={"consents": facts.consents + direct})
    return ContactRequest(
        account=facts,
        channel=channel,
        address=address,
        recipient=recipient_of(account),
        delivery_mode=delivery_mode(channel),
        sender_type=configured_sms_sender() if channel == "sms" else None,
        at=at,
        template=traits_for(channel, template, locale_of(account)),
        purpose=purpose_of(template),
        history=policy_facts.contact_events(events),
        number_checks=policy_facts.number_checks(events),
        suppressions=policy_facts.suppressions(suppressions),
    )


def delivery_mode(channel: str) -> str:
    return "live_agent" if channel == "agent_queue" else "automated"


def locale_of(account: Mapping[str, Any]) -> str:
    return account.get("locale") or "en"


_CONTAINERS = (list, tuple, dict)


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _hashable(item)) for key, item in value.items()))
    return value


def account_class(account: Mapping[str, Any]) -> tuple[Hashable, ...]:
    """What the engine can learn of an account when nothing is on file for its contact: its shared
    facts, its city (the engine reads the postal code only for it), which contact points it has and
    the time zones they place it in (the engine reads the numbers only for those)."""
    country = str(account.get("country") or "US")
    numbers = [account.get(column) for column in PHONE_TYPES]
    shared = [account.get(column) for column in SHARED_FACT_COLUMNS]
    return (
        # Most facts are text or empty: only a list or a mapping (inconvenient times) needs turning into a key.
        *(_hashable(value) if type(value) in _CONTAINERS else value for value in shared),
        city_for(country, account.get("postal_code")),
        tuple(bool(number) for number in numbers),
        bool(account.get("email")),
        candidate_zones(account.get("stated_timezone"), numbers, country, account.get("region")),
    )


@dataclass
class ClassAnswer:
    decision: Decision
    # The question asked for the class: one member's.
    request: ContactRequest
    recording_days: int | None = None
    recording_known: bool = False


@dataclass
class DecisionClasses:
    """The day's policy decisions, asked once per class of steps (``share=False``: every step on its own)."""

    rules: RuleSet | None
    share: bool = True
    answers: dict[tuple[Hashable, ...], ClassAnswer] = field(default_factory=dict)
    # Steps answered from their class, and steps asked on their own because something is on file.
    by_class: int = 0
    one_by_one: int = 0
    # The last account asked about and its class: a day's steps come account by account, and an
    # account's facts do not change while its steps are decided.
    _last_account: Mapping[str, Any] | None = field(default=None, init=False, repr=False)
    _last_class: tuple[Hashable, ...] = field(default=(), init=False, repr=False)

    def decide(
        self,
        account: Mapping[str, Any],
        channel: str,
        template: str,
        address: str | None,
        at: datetime,
        events: list[dict[str, Any]],
        suppressions: list[dict[str, Any]],
        recording: bool = False,
    ) -> tuple[Decision, int | None]:
        """The engine's decision on one step of ``account``: asked on its own when the ledger holds a
        contact, reply, number check or suppression for it (``events``, ``suppressions``), otherwise
        once for its class. With ``recording``, also the days a recording of the call must be kept if
        it is sent (None: no rule asks for one); a class's members share that too, as the rules read
        them alike."""
        if events or suppressions or not self.share:
            self.one_by_one += 1
            request = contact_request(account, channel, template, address, at, events, suppressions)
            decision = engine_decides(request, self.rules, with_trace=False)
            sent = recording and decision.decision == "send"
            return decision, recording_retention_days(request, self.rules) if sent else None
        key = (
            recipient_of(account),
            channel,
            template,
            locale_of(account),
            configured_sms_sender() if channel == "sms" else None,
            at,
            # Which contact points the account has, so also whether ``address`` is one.
            self._class_of(account),
        )
        answered = self.answers.get(key)
        if answered is None:
            request = contact_request(account, channel, template, address, at, events, suppressions)
            answered = self.answers[key] = ClassAnswer(engine_decides(request, self.rules, with_trace=False), request)
        self.by_class += 1
        if recording and answered.decision.decision == "send" and not answered.recording_known:
            answered.recording_days = recording_retention_days(answered.request, self.rules)
            answered.recording_known = True
        return answered.decision, answered.recording_days

    def _class_of(self, account: Mapping[str, Any]) -> tuple[Hashable, ...]:
        if account is not self._last_account:
            self._last_account, self._last_class = account, account_class(account)
        return self._last_class

    def counts(self) -> dict[str, int]:
        return {"by_class": self.by_class, "classes": len(self.answers), "one_by_one": self.one_by_one}
