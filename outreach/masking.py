"""Masking of contact details for logs, reports and files people read.

Phone numbers keep their country code and last four digits, emails their first
character and domain: enough for an operator to tell two contacts apart, not
enough to contact anyone.
"""

from __future__ import annotations


def mask_phone(number: str | None) -> str:
    if not number:
        return ""
    digits = number.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(number)
    prefix = "+" if number.startswith("+") else ""
    country = digits[:2] if digits.startswith("86") else digits[:1]
    hidden = len(digits) - len(country) - 4
    return f"{prefix}{country}{'*' * hidden}{digits[-4:]}"


def mask_email(address: str | None) -> str:
    if not address:
        return ""
    local, sep, domain = address.partition("@")
    if not sep:
        return "*" * len(address)
    return f"{local[:1]}***@{domain}"


def mask_address(channel: str, address: str | None) -> str:
    """Mask a contact address whatever its channel."""
    return mask_email(address) if channel == "email" else mask_phone(address)
