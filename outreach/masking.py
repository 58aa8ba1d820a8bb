"""Masking of contact details for logs, reports and files people read.

Phone numbers keep their country code and last four digits, emails their first
character and domain: enough for an operator to tell two contacts apart, not
enough to contact anyone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EMAIL_LIKE = re.compile(r"[^@\s,;\"']+@[^@\s,;\"']+")
PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{6,}\d")


def mask_phone(number: str | None) -> str:
    # A hand-off (agent queue, letter, agency) has no address: pandas hands it over as NaN.
    if not isinstance(number, str) or not number:
        return ""
    digits = number.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(number)
    prefix = "+" if number.startswith("+") else ""
    country = digits[:2] if digits.startswith("86") else digits[:1]
    hidden = len(digits) - len(country) - 4
    return f"{prefix}{country}{'*' * hidden}{digits[-4:]}"


def mask_email(address: str | None) -> str:
    if not isinstance(address, str) or not address:
        return ""
    local, sep, domain = address.partition("@")
    if not sep:
        return "*" * len(address)
    return f"{local[:1]}***@{domain}"


def mask_address(channel: str, address: str | None) -> str:
    """Mask a contact address whatever its channel."""
    return mask_email(address) if channel == "email" else mask_phone(address)


def mask_name(name: str | None) -> str:
    return " ".join(f"{part[:1]}***" for part in (name or "").split())


def mask_text(text: str) -> str:
    """Mask every email address and phone number inside free text (a line that could not be parsed)."""
    text = EMAIL_LIKE.sub(lambda found: mask_email(found.group()), text.replace("\x00", "\u2400"))
    return PHONE_LIKE.sub(lambda found: mask_phone(re.sub(r"[\s().-]", "", found.group())), text)


def mask_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A record as people may keep it: names, phone numbers and emails masked, whatever the columns are called."""
    masked: dict[str, Any] = {}
    for key, value in row.items():
        name = str(key).lower()
        if not isinstance(value, str) or not value:
            masked[key] = mask_row(value) if isinstance(value, Mapping) else value
            continue
        # A NUL byte is shown, not kept: no database text column stores it.
        value = value.replace("\x00", "\u2400")
        if "mail" in name:
            masked[key] = mask_email(value)
        elif "phone" in name or "mobile" in name:
            masked[key] = mask_phone(value)
        elif "name" in name:
            masked[key] = mask_name(value)
        else:
            masked[key] = mask_text(value)
    return masked
