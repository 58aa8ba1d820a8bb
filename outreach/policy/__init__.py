"""The contact policy: may we contact this person, on this channel, now, and if not, why."""

from outreach.policy.engine import decide
from outreach.policy.model import AccountFacts, ContactEvent, ContactRequest, Decision, Suppression
from outreach.policy.rules import PolicyConfigError, Rule, RuleSet, default_rules, load_rules

__all__ = [
    "AccountFacts",
    "ContactEvent",
    "ContactRequest",
    "Decision",
    "PolicyConfigError",
    "Rule",
    "RuleSet",
    "Suppression",
    "decide",
    "default_rules",
    "load_rules",
]
