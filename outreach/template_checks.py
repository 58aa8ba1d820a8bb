"""Checks of message templates, run when templates load and consulted again at send time.

Load time refuses a template that can never be compliant (a text without an
opt-out, a voicemail that is more than a limited-content message, a Chinese
collection letter missing a required field). Send time uses what the check found
(``TemplateTraits``): legal-threat wording is only wrong on a time-barred debt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, Template, meta

from outreach.parties import LOCATION_REQUESTS
from outreach.policy.model import TemplateTraits

OPT_OUT_PATTERNS = {
    "sms": re.compile(r"reply stop|回复\s*td\s*退订|退订", re.IGNORECASE),
    "email": re.compile(r"\{\{\s*unsubscribe_link\s*\}\}"),
}
LEGAL_THREAT_WORDS = ("sue", "lawsuit", "legal action", "court", "garnish", "起诉", "诉讼", "法院", "强制执行")
OPT_OUT_CONFIRMATIONS = frozenset({"opt_out_confirmation"})
# Templates that are the validation notice a debt collector owes (12 CFR 1006.34).
VALIDATION_NOTICES = frozenset({"validation_notice"})
# Fields that would tell the reader of a debt, whatever the words around them.
DEBT_VARIABLES = frozenset({"amount_due", "days_past_due", "pay_link", "account_last4"})
# A limited-content message (12 CFR 1006.2(j)) may carry only these.
LIMITED_CONTENT_VARIABLES = frozenset({"first_name", "business_name", "callback_number"})
DEBT_WORDS = ("debt", "past due", "payment", "owe", "balance", "collection", "欠款", "逾期", "还款", "催收")
# Fields a mainland China collection letter must carry (CBRC Order 2011 No. 2, Art. 69; rulebook CN-2),
# each a named block of the letter template, so a bank's own wording is judged by what it fills in.
CN_LETTER_FIELDS = {
    "debtor_name": "debtor name",
    "amount_owed": "amount owed",
    "legal_basis": "reason and legal basis",
    "rights_and_duties": "rights and duties",
    "account_inquiry": "account inquiry method",
    "objection": "objection method",
    "bank_contact": "bank contact",
    "seal": "seal or signature",
}


# Letters that tell the debtor something rather than collect (who collects), outside Art. 69's fields.
NOTICE_LETTERS = frozenset({"agency_notice"})


def needs_cn_letter_fields(channel: str, locale: str, name: str = "") -> bool:
    return channel == "letter" and locale == "zh-CN" and name not in NOTICE_LETTERS


def letter_fields(template: Template, context: Mapping[str, Any]) -> dict[str, str]:
    """The letter's data: each named block as rendered for this account."""
    rendered = template.new_context(dict(context))
    return {name: "".join(block(rendered)).strip() for name, block in template.blocks.items()}


def missing_letter_fields(
    fields: Mapping[str, str], context: Mapping[str, Any], seal: str | None, body: str
) -> list[str]:
    """The required fields the letter lacks as sent (``body``): a block the template defines but never
    prints is not on the letter. The name and the amount must be this account's own: the debtor's name,
    also on a letter to a guarantor or another party on the account."""
    missing = [label for name, label in CN_LETTER_FIELDS.items() if not fields.get(name) or fields[name] not in body]
    if seal and "seal or signature" in missing:
        missing.remove("seal or signature")  # an electronic seal or signature applied to the letter as sent
    debtor = str(context.get("debtor_name") or "")
    if fields.get("debtor_name") and debtor not in fields["debtor_name"]:
        missing.append("debtor name (the field does not carry the account's name)")
    if fields.get("amount_owed") and str(context.get("amount_due") or "") not in fields["amount_owed"]:
        missing.append("amount owed (the field does not carry the amount due)")
    if not debtor and "debtor name" not in missing:
        missing.append("debtor name (none on file)")
    return missing


class TemplateCheckError(ValueError):
    """A template fails a check that no account could pass; the message names the file."""


# Texts longer than this many segments are refused at load time (each segment is billed).
MAX_SMS_SEGMENTS = 3
# The longest values a text is likely to carry: its segment count is the template's worst case.
WORST_CASE_ACCOUNT = {
    "account_id": "AC99999999",
    "name": "Maximiliana Montgomery-Worthington",
    "balance_due_minor": 99_999_999,
    "currency": "USD",
    "dpd": 365,
}


@dataclass(frozen=True)
class TemplateReport:
    path: str
    traits: TemplateTraits
    problems: tuple[str, ...]
    segments: int | None = None
    encoding: str | None = None


def _words(text: str, words: tuple[str, ...]) -> tuple[str, ...]:
    folded = text.casefold()
    return tuple(w for w in words if re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", folded))


def check_template(channel: str, name: str, locale: str, source: str, environment: Environment) -> TemplateReport:
    path = f"{channel}/{name}.{locale}.j2"
    variables = meta.find_undeclared_variables(environment.parse(source))
    problems: list[str] = []

    pattern = OPT_OUT_PATTERNS.get(channel)
    # The confirmation of an opt-out is the last text the number gets: it has nothing to opt out of.
    has_opt_out = pattern is None or name in OPT_OUT_CONFIRMATIONS or bool(pattern.search(source))
    if not has_opt_out:
        problems.append("no opt-out instruction (12 CFR 1006.6(e))")

    is_limited = True
    if channel == "voicemail":
        extra = sorted(variables - LIMITED_CONTENT_VARIABLES)
        debt_words = _words(source, DEBT_WORDS)
        is_limited = not extra and not debt_words
        if not is_limited:
            problems.append(f"not a limited-content message (extra fields {extra}, words {list(debt_words)})")

    if needs_cn_letter_fields(channel, locale, name):
        from outreach.messages import Renderer

        renderer = Renderer()
        context = renderer.context({**WORST_CASE_ACCOUNT, "locale": locale})
        template = environment.from_string(source)
        fields = letter_fields(template, context)
        missing = missing_letter_fields(fields, context, renderer.sender.letter_seal, template.render(context))
        if missing:
            problems.append(f"collection letter lacks required field(s) {missing} (each is a named block)")

    segments = text_encoding = None
    if channel == "sms":
        from outreach.channels.segments import encoding, segment_count
        from outreach.messages import Renderer

        renderer = Renderer()
        context = renderer.context({**WORST_CASE_ACCOUNT, "locale": locale})
        text = environment.from_string(source).render(context).strip()
        segments, text_encoding = segment_count(text), encoding(text)
        if segments > MAX_SMS_SEGMENTS:
            problems.append(f"{segments} {text_encoding} segments at worst; the cap is {MAX_SMS_SEGMENTS}")

    mentions_debt = bool(_words(source, DEBT_WORDS) or variables & DEBT_VARIABLES)
    if name in LOCATION_REQUESTS and mentions_debt:
        problems.append("a location request says nothing of the debt (12 CFR 1006.10(b))")
    traits = TemplateTraits(
        name=path,
        has_opt_out=has_opt_out,
        legal_threat_words=_words(source, LEGAL_THREAT_WORDS),
        is_limited_content=is_limited,
        mentions_debt=mentions_debt,
    )
    return TemplateReport(path, traits, tuple(problems), segments, text_encoding)


@lru_cache(maxsize=1)
def check_all_templates() -> dict[str, TemplateReport]:
    """Every shipped template, keyed by its path under templates/."""
    environment = Environment(loader=PackageLoader("outreach", "templates"))
    reports = {}
    for path in environment.list_templates(extensions=["j2"]):
        channel, _, filename = path.partition("/")
        name, locale, _ = filename.split(".", 2)
        source = environment.loader.get_source(environment, path)[0]
        reports[path] = check_template(channel, name, locale, source, environment)
    return reports


def require_clean_templates() -> dict[str, TemplateReport]:
    reports = check_all_templates()
    failing = [f"outreach/templates/{r.path}: {'; '.join(r.problems)}" for r in reports.values() if r.problems]
    if failing:
        raise TemplateCheckError("templates that can never be sent:\n" + "\n".join(failing))
    return reports


def traits_for(channel: str, name: str, locale: str) -> TemplateTraits | None:
    report = check_all_templates().get(f"{channel}/{name}.{locale}.j2")
    return report.traits if report else None
