"""The decision for one contact: SEND, DEFER until a time, BLOCK, or REVIEW.

A pure function of the request (account facts, history, suppressions, time)
and the rule table. Every applicable rule is evaluated and traced. Any block
wins, then review, then defer: the latest not-before time is taken and the whole
table evaluated again at that instant, until it settles, because moving past
quiet hours can land in a frequency blackout and the reverse. Deny by default:
a missing fact needed to allow a contact never reads as permission.
"""

from __future__ import annotations

from datetime import timedelta

from outreach.policy.checks import CHECKS, Context, Finding, recording_days
from outreach.policy.model import ContactRequest, Decision, TraceEntry
from outreach.policy.rules import Rule, RuleSet, default_rules
from outreach.policy.zones import candidate_zones

MAX_PASSES = 20
MAX_DEFER = timedelta(days=14)
OUTCOME_OF = {"pass": "send", "block": "block", "review": "review", "defer": "defer"}


def zones_for(request: ContactRequest) -> tuple[str, ...]:
    account = request.account
    return candidate_zones(account.stated_timezone, [p.number for p in account.phones], account.country, account.region)


class _Trace:
    """Every rule's finding at the instant decided, built only for the answer given (a deferral
    re-evaluates the table, and a day's plan asks tens of thousands of questions)."""

    def __init__(self, findings: list[tuple[Rule, Finding]]):
        self.findings = findings

    def entries(self) -> tuple[TraceEntry, ...]:
        return tuple(
            TraceEntry(rule=rule.id, outcome=OUTCOME_OF[f.outcome], reason=f.reason or "allowed")
            for rule, f in self.findings
        )


def decide(request: ContactRequest, rules: RuleSet | None = None, with_trace: bool = True) -> Decision:
    """The decision on one contact request. ``with_trace=False`` leaves out every rule's own finding,
    which only a person asking one question reads (``outreach policy check``), not a day's plan."""
    ruleset = rules or default_rules()
    applicable = ruleset.applicable(request.account, request.at)
    zones = zones_for(request)
    at = request.at
    deferred_by: list[tuple[Rule, Finding, timedelta]] = []
    trace = _Trace([])

    for _ in range(MAX_PASSES):
        ctx = Context(request, at, zones)
        findings = [(rule, CHECKS[rule.kind](ctx, rule)) for rule in applicable]
        trace = _Trace(findings)
        for outcome in ("block", "review"):
            decided = [(rule, f) for rule, f in findings if f.outcome == outcome]
            if decided:
                return Decision(
                    decision=outcome,
                    rules=tuple(rule.id for rule, _ in decided),
                    reasons=tuple(f.reason for _, f in decided),
                    zones=zones,
                    trace=trace.entries() if with_trace else (),
                )
        defers = [(rule, f) for rule, f in findings if f.outcome == "defer"]
        if not defers:
            window_end = min((f.window_end for _, f in findings if f.window_end), default=None)
            if at == request.at:
                # The window that allows it, and any rule that allows it by an exception a person
                # should see (an attorney who never answered, a notice still within its days).
                passed = [(rule, f) for rule, f in findings if f.window_end or f.reason]
                return Decision(
                    decision="send",
                    window_end=window_end,
                    rules=tuple(rule.id for rule, _ in passed),
                    reasons=tuple(dict.fromkeys(f.reason for _, f in passed)) or ("no rule stands in the way",),
                    zones=zones,
                    trace=trace.entries() if with_trace else (),
                )
            # The rule that moved the contact furthest in one step is named first: it is the
            # reason a person reads ("Sunday"), not the quiet hours that follow from it.
            # Each rule speaks once, with its last word (its latest deferral).
            last: dict[str, tuple[Rule, Finding, timedelta]] = {}
            for rule, finding, jump in deferred_by:
                previous = last.get(rule.id)
                last[rule.id] = (rule, finding, max(jump, previous[2]) if previous else jump)
            ranked = sorted(last.values(), key=lambda item: item[2], reverse=True)
            lifted = [(rule, f) for rule, f in findings if f.lifts_hold]
            return Decision(
                decision="defer",
                not_before=at,
                window_end=window_end,
                rules=tuple(rule.id for rule, _, _ in ranked) + tuple(rule.id for rule, _ in lifted),
                reasons=tuple(dict.fromkeys([*(f.reason for _, f, _ in ranked), *(f.reason for _, f in lifted)])),
                zones=zones,
                trace=trace.entries() if with_trace else (),
            )
        deferred_by.extend((rule, finding, finding.not_before - at) for rule, finding in defers)
        at = max(f.not_before for _, f in defers if f.not_before)
        if at - request.at > MAX_DEFER:
            return Decision(
                decision="block",
                rules=("policy.no_feasible_slot", *dict.fromkeys(rule.id for rule, _, _ in deferred_by)),
                reasons=(f"no allowed time within {MAX_DEFER.days} days",),
                zones=zones,
                trace=trace.entries() if with_trace else (),
            )
    return Decision(
        decision="review",
        rules=("policy.unsettled",),
        reasons=("the rules kept deferring each other; a person must decide",),
        zones=zones,
        trace=trace.entries() if with_trace else (),
    )


def recording_retention_days(request: ContactRequest, rules: RuleSet | None = None) -> int | None:
    """Days a recording of this call must be kept, where a rule requires calls to be recorded."""
    ruleset = rules or default_rules()
    return recording_days(request, ruleset.applicable(request.account, request.at))
