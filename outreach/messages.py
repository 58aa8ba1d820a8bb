"""Rendering a planned step into the words the debtor receives, in their language.

Templates live in ``outreach/templates/<channel>/<template>.<locale>.j2``. Each
one carries the disclosures its channel requires (sender name, opt-out).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from outreach.accounts.schema import CURRENCY_EXPONENT
from outreach.links import LinkKeys
from outreach.template_checks import letter_fields, missing_letter_fields, needs_cn_letter_fields

CURRENCY_SYMBOLS = {"USD": "$", "CNY": "¥", "CAD": "CA$", "EUR": "€", "GBP": "£", "JPY": "¥"}


# The self-service page (``outreach self-service``) on this machine: where links lead by default.
SELF_SERVICE_PAGE = "http://localhost:8091/r/"


@dataclass(frozen=True)
class Sender:
    business_name: str
    callback_number: str
    postal_address: str
    pay_base_url: str
    unsubscribe_base_url: str
    # The reference of the electronic seal or signature the print vendor applies to each letter.
    letter_seal: str | None = None

    @classmethod
    def from_env(cls) -> Sender:
        return cls(
            business_name=os.environ.get("OUTREACH_BUSINESS_NAME", "Example Bank"),
            callback_number=os.environ.get("OUTREACH_CALLBACK_NUMBER", "+1 800 555 0100"),
            postal_address=os.environ.get("OUTREACH_POSTAL_ADDRESS", "100 Example Street, New York, NY 10001"),
            pay_base_url=os.environ.get("OUTREACH_PAY_URL", SELF_SERVICE_PAGE),
            unsubscribe_base_url=os.environ.get("OUTREACH_UNSUBSCRIBE_URL") or unsubscribe_page(os.environ),
            letter_seal=os.environ.get("OUTREACH_LETTER_SEAL") or None,
        )


def unsubscribe_page(env: Mapping[str, str]) -> str:
    """The plugin's unsubscribe page (``GET`` confirms, ``POST`` unsubscribes) under the public callback URL."""
    base = (env.get("OUTREACH_CALLBACK_BASE_URL") or "https://pay.example.com").rstrip("/")
    return f"{base}/outreach/unsubscribe/"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None
    body: str
    # For a letter whose content the law prescribes: the required fields it lacks as rendered.
    missing: tuple[str, ...] = ()
    # The ref its links carry (the step's own, or a preview's).
    ref: str = ""


def format_amount(minor: int, currency: str) -> str:
    exponent = CURRENCY_EXPONENT.get(currency, 2)
    amount = Decimal(minor).scaleb(-exponent)
    return f"{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{amount:,.{exponent}f}"


# What a party is called in a message to them, per locale.
ROLES = {
    "zh-CN": {"co_borrower": "共同借款人", "guarantor": "担保人", "attorney": "代理律师", "estate": "遗产管理人"},
}


def _role(recipient: Any, locale: str) -> str:
    if not isinstance(recipient, str) or not recipient:
        return ""
    return ROLES.get(locale, {}).get(recipient) or recipient.replace("_", "-")


def renderer_for(home: Path) -> Renderer:
    """The renderer of a deployment whose home is ``home``: its sender identity and its link keys."""
    return Renderer(links=LinkKeys.from_env(home))


# The ref a preview shows in its links: as long as a real one, so segment counts are the same.
PREVIEW_REF = "PREVIEW-LINK-REF"


class Renderer:
    def __init__(self, sender: Sender | None = None, links: LinkKeys | None = None):
        self.sender = sender or Sender.from_env()
        self.links = links
        self.environment = Environment(
            loader=PackageLoader("outreach", "templates"),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            # The templates ship with the code: a render need not look at the file again.
            auto_reload=False,
        )

    def ref(self, step_key: str) -> str:
        """The opaque reference the step's message carries (links, provider callbacks)."""
        if self.links is None:
            raise ValueError("a Renderer without link keys can only preview messages")
        return self.links.ref(step_key)

    def context(self, account: dict[str, Any], ref: str = PREVIEW_REF) -> dict[str, Any]:
        name = str(account.get("name") or "")
        return {
            "business_name": self.sender.business_name,
            "callback_number": self.sender.callback_number,
            "postal_address": self.sender.postal_address,
            "first_name": name.split()[0] if name and account.get("locale") != "zh-CN" else name or "",
            "full_name": name,
            # A message to another party on the account names the debtor and the reader's part in it.
            "debtor_name": str(account.get("debtor_name") or name),
            "recipient_role": _role(account.get("recipient"), account.get("locale") or "en"),
            "account_last4": str(account["account_id"])[-4:],
            "amount_due": format_amount(int(account["balance_due_minor"]), str(account["currency"])),
            "days_past_due": int(account["dpd"]),
            "pay_link": f"{self.sender.pay_base_url}{ref}",
            "unsubscribe_link": f"{self.sender.unsubscribe_base_url}{ref}",
            "locale": account.get("locale") or "en",
        }

    def render_notice(self, template: str, account: dict[str, Any], **variables: str) -> str:
        """A letter telling the debtor something (``NOTICE_LETTERS``), with its own variables."""
        context = {**self.context(account), **variables}
        locale = account.get("locale") or "en"
        return self.environment.get_template(f"letter/{template}.{locale}.j2").render(context).strip()

    def render(
        self, channel: str, template: str, account: dict[str, Any], step_key: str | None = None
    ) -> RenderedMessage:
        """The words of ``step_key``'s message (its links carry the step's ref); without a step, a preview."""
        locale = account.get("locale") or "en"
        ref = self.ref(step_key) if step_key else PREVIEW_REF
        context = self.context(account, ref)
        compiled = self.environment.get_template(f"{channel}/{template}.{locale}.j2")
        text = compiled.render(context).strip()
        if needs_cn_letter_fields(channel, locale, template):
            fields = letter_fields(compiled, context)
            missing = missing_letter_fields(fields, context, self.sender.letter_seal, text)
            return RenderedMessage(None, text, tuple(missing), ref)
        if channel == "email":
            first, _, rest = text.partition("\n")
            if not first.startswith("Subject: "):
                raise ValueError(f"email template {template}.{locale} must start with a 'Subject: ' line")
            return RenderedMessage(first.removeprefix("Subject: ").strip(), rest.strip(), ref=ref)
        return RenderedMessage(None, text, ref=ref)
