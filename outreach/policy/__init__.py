"""The contact policy: may we contact this person, on this channel, on this day, and if not, why."""

from outreach.policy.engine import ContactRequest, Decision, decide
from outreach.policy.rules import RULES, Rule

__all__ = ["RULES", "ContactRequest", "Decision", "Rule", "decide"]
