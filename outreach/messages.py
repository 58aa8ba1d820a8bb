"""Rendering a planned step into the words the debtor receives, in their language.

Templates live in ``outreach/templates/<channel>/<template>.<locale>.j2``. Each
one carries the disclosures its channel requires (sender name, opt-out).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

CURRENCY_SYMBOLS = {"USD": "$", "CNY": "¥", "CAD": "CA$", "EUR": "€", "GBP": "£", "JPY": "¥"}
CURRENCY_EXPONENT = {"JPY": 0}


@dataclass(frozen=True)
class Sender:
    business_name: str
    callback_number: str
    postal_address: str
    pay_base_url: str
    unsubscribe_base_url: str

    @classmethod
    def from_env(cls) -> Sender:
        return cls(
            business_name=os.environ.get("OUTREACH_BUSINESS_NAME", "Example Bank"),
            callback_number=os.environ.get("OUTREACH_CALLBACK_NUMBER", "+1 800 555 0100"),
            postal_address=os.environ.get("OUTREACH_POSTAL_ADDRESS", "100 Example Street, New York, NY 10001"),
            pay_base_url=os.environ.get("OUTREACH_PAY_URL", "https://pay.example.com/a/"),
            unsubscribe_base_url=os.environ.get("OUTREACH_UNSUBSCRIBE_URL", "https://pay.example.com/unsubscribe/"),
        )


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None
    body: str


def format_amount(minor: int, currency: str) -> str:
    exponent = CURRENCY_EXPONENT.get(currency, 2)
    amount = Decimal(minor).scaleb(-exponent)
    return f"{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{amount:,.{exponent}f}"


def link_token(account_id: str) -> str:
    """An opaque per-account token, so links never carry the account number."""
    return hashlib.sha256(account_id.encode()).hexdigest()[:16]


class Renderer:
    def __init__(self, sender: Sender | None = None):
        self.sender = sender or Sender.from_env()
        self.environment = Environment(
            loader=PackageLoader("outreach", "templates"),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )

    def context(self, account: dict[str, Any]) -> dict[str, Any]:
        name = str(account.get("name") or "")
        token = link_token(str(account["account_id"]))
        return {
            "business_name": self.sender.business_name,
            "callback_number": self.sender.callback_number,
            "postal_address": self.sender.postal_address,
            "first_name": name.split()[0] if name and account.get("locale") != "zh-CN" else name or "",
            "full_name": name,
            "account_last4": str(account["account_id"])[-4:],
            "amount_due": format_amount(int(account["balance_due_minor"]), str(account["currency"])),
            "days_past_due": int(account["dpd"]),
            "pay_link": f"{self.sender.pay_base_url}{token}",
            "unsubscribe_link": f"{self.sender.unsubscribe_base_url}{token}",
            "locale": account.get("locale") or "en",
        }

    def render(self, channel: str, template: str, account: dict[str, Any]) -> RenderedMessage:
        locale = account.get("locale") or "en"
        text = self.environment.get_template(f"{channel}/{template}.{locale}.j2").render(self.context(account)).strip()
        if channel == "email":
            first, _, rest = text.partition("\n")
            if not first.startswith("Subject: "):
                raise ValueError(f"email template {template}.{locale} must start with a 'Subject: ' line")
            return RenderedMessage(first.removeprefix("Subject: ").strip(), rest.strip())
        return RenderedMessage(None, text)
