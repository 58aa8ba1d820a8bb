"""The rule table as data: load it, choose the rules that apply to an account, tighten it.

Every rule carries an id, a citation, a verification grade, effective dates and
an on/off switch, so a compliance officer can audit and change the table without
reading code. Business settings may only tighten the law: a legal rule cannot be
switched off, and its numbers can only move in the stricter direction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from outreach.policy.model import AccountFacts
from outreach.policy.zones import city_for

GRADES = {"P", "S", "U", "B"}


class PolicyConfigError(ValueError):
    """The rule table or the business settings are unusable; the message names the rule."""


@dataclass(frozen=True)
class Rule:
    id: str
    profile: str
    kind: str
    summary: str
    citation: str
    grade: str
    enabled: bool = True
    effective_from: date | None = None
    effective_to: date | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_business(self) -> bool:
        return self.grade == "B"

    def in_effect(self, on: date) -> bool:
        return (self.effective_from is None or self.effective_from <= on) and (
            self.effective_to is None or on <= self.effective_to
        )


def _as_time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


# For each number a business may change in a legal rule: which direction is stricter.
_STRICTER = {
    "start": lambda new, old: _as_time(new) >= _as_time(old),
    "end": lambda new, old: _as_time(new) <= _as_time(old),
    "min_slot_minutes": lambda new, old: new >= old,
    "end_buffer_minutes": lambda new, old: new >= old,
    "max": lambda new, old: new <= old,
    "days": lambda new, old: new >= old,
    "minutes": lambda new, old: new >= old,
    # How long an attorney is given to answer before the consumer may be contacted again (US-19).
    "attorney_reply_days": lambda new, old: new >= old,
    "retention_days": lambda new, old: new >= old,
}


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    profiles: Mapping[str, Mapping[str, list[str]]]

    def __getitem__(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def __contains__(self, rule_id: object) -> bool:
        return any(rule.id == rule_id for rule in self.rules)

    def profiles_for(self, account: AccountFacts) -> list[str]:
        facts = {
            "country": account.country,
            "region": (account.region or "").upper(),
            "city": account.city or city_for(account.country, account.postal_code),
            "collector_type": account.collector_type,
        }
        return [
            name
            for name, spec in self.profiles.items()
            if all(facts.get(key) in values for key, values in (spec.get("applies") or {}).items())
        ]

    def applicable(self, account: AccountFacts, at: datetime) -> list[Rule]:
        profiles = set(self.profiles_for(account))
        on = at.date()
        return [
            rule
            for rule in self.rules
            if rule.enabled
            and rule.profile in profiles
            and rule.in_effect(on)
            and account.country in rule.params.get("countries", [account.country])
        ]

    def tightened(self, settings: Mapping[str, Any], origin: str = "business settings") -> RuleSet:
        """The rule set with business settings applied; refuses any loosening of the law."""
        overrides = settings.get("rules") or {}
        unknown = sorted(set(overrides) - {rule.id for rule in self.rules})
        if unknown:
            raise PolicyConfigError(f"{origin}: unknown rule id(s) {unknown}")
        rules = []
        for rule in self.rules:
            change = overrides.get(rule.id)
            if change is None:
                rules.append(rule)
                continue
            rules.append(_tighten(rule, change, origin))
        return replace(self, rules=tuple(rules))


def _tighten(rule: Rule, change: Mapping[str, Any], origin: str) -> Rule:
    where = f"{origin}, rule {rule.id}"
    extra = set(change) - {"enabled", "params"}
    if extra:
        raise PolicyConfigError(f"{where}: only 'enabled' and 'params' can be set, not {sorted(extra)}")
    enabled = change.get("enabled", rule.enabled)
    legal = not rule.is_business
    if legal and rule.grade != "U" and rule.enabled and not enabled:
        raise PolicyConfigError(f"{where}: a legal rule ({rule.citation}) cannot be switched off")
    params = dict(rule.params)
    for name, value in (change.get("params") or {}).items():
        if name not in params:
            raise PolicyConfigError(f"{where}: no parameter {name!r} (has {sorted(params)})")
        if legal:
            stricter = _STRICTER.get(name)
            if stricter is None:
                raise PolicyConfigError(f"{where}: parameter {name!r} of a legal rule cannot be changed")
            if not stricter(value, params[name]):
                raise PolicyConfigError(
                    f"{where}: {name}={value} would loosen the law ({rule.citation} sets {params[name]})"
                )
        params[name] = value
    return replace(rule, enabled=enabled, params=params)


def _parse(data: Mapping[str, Any], origin: str) -> RuleSet:
    rules = []
    profiles = data.get("profiles") or {}
    for index, item in enumerate(data.get("rules") or []):
        where = f"{origin}, rules[{index}] ({item.get('id', '?')})"
        try:
            rule = Rule(
                id=item["id"],
                profile=item["profile"],
                kind=item["kind"],
                summary=item["summary"],
                citation=str(item["citation"]),
                grade=item["grade"],
                enabled=bool(item.get("enabled", True)),
                effective_from=item.get("effective_from"),
                effective_to=item.get("effective_to"),
                params=item.get("params") or {},
            )
        except KeyError as exc:
            raise PolicyConfigError(f"{where}: missing field {exc.args[0]!r}") from exc
        if rule.grade not in GRADES:
            raise PolicyConfigError(f"{where}: grade must be one of {sorted(GRADES)}")
        if rule.profile not in profiles:
            raise PolicyConfigError(f"{where}: unknown profile {rule.profile!r}")
        if rule.grade == "U" and rule.enabled:
            raise PolicyConfigError(f"{where}: unverified (U) rules ship switched off")
        rules.append(rule)
    ids = [rule.id for rule in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise PolicyConfigError(f"{origin}: duplicate rule ids {duplicates}")
    return RuleSet(tuple(rules), profiles)


@lru_cache(maxsize=8)
def load_rules(settings_path: str | None = None) -> RuleSet:
    """The shipped rule table, tightened by the business settings file if one is given."""
    text = resources.files("outreach.policy").joinpath("rules.yaml").read_text(encoding="utf-8")
    ruleset = _parse(yaml.safe_load(text), "outreach/policy/rules.yaml")
    if settings_path:
        path = Path(settings_path)
        try:
            settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise PolicyConfigError(f"policy settings file {path} cannot be read: {exc.strerror}") from exc
        ruleset = ruleset.tightened(settings, origin=str(path))
    return ruleset


def default_rules() -> RuleSet:
    return load_rules(os.environ.get("OUTREACH_POLICY_SETTINGS") or None)
