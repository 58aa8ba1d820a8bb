"""Checking requests against the providers' own OpenAPI descriptions.

The sandbox refuses what the real APIs would refuse, so a request the project
sends that passes here has the shape Twilio and SendGrid document. Where the
descriptions are known to be wrong or silent, the rule is stated here.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema
import phonenumbers

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def valid_number(number: str) -> bool:
    """E.164 and a number that exists in its country's numbering plan, as Twilio checks (21211)."""
    if not E164.match(number):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


@lru_cache(maxsize=4)
def _spec(name: str) -> dict[str, Any]:
    return json.loads(resources.files("outreach.sandbox").joinpath("specs").joinpath(name).read_text(encoding="utf-8"))


def _form_schema(path: str) -> dict[str, Any]:
    operation = _spec("twilio_api_v2010.json")["paths"][path]["post"]
    return operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise ValueError("must be true or false")
        return value.lower() == "true"
    return value


def check_twilio_form(path: str, form: list[tuple[str, str]]) -> list[str]:
    """Problems with a Twilio form body, per the OpenAPI description (empty list: conforms)."""
    schema = _form_schema(path)
    properties = schema.get("properties", {})
    problems = []
    seen: dict[str, list[str]] = {}
    for key, value in form:
        seen.setdefault(key, []).append(value)
    for name in schema.get("required", []):
        if name not in seen:
            problems.append(f"missing required parameter {name}")
    for name, values in seen.items():
        prop = properties.get(name)
        if prop is None:
            problems.append(f"unknown parameter {name}")
            continue
        # List parameters arrive as repeated keys (Twilio's convention).
        item_schema = prop.get("items", prop) if prop.get("type") == "array" else prop
        if prop.get("type") != "array" and len(values) > 1:
            problems.append(f"{name} given {len(values)} times")
        for value in values:
            try:
                coerced = _coerce(value, item_schema)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
            if "enum" in item_schema and coerced not in item_schema["enum"]:
                problems.append(f"{name}: {value!r} is not one of {item_schema['enum']}")
            if item_schema.get("format") == "uri" and not re.match(r"^https?://", value):
                problems.append(f"{name}: {value!r} is not an absolute http(s) URL")
    return problems


@lru_cache(maxsize=1)
def _mail_validator() -> jsonschema.Validator:
    spec = _spec("tsg_mail_v3.json")
    body = spec["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]["schema"]
    body = json.loads(json.dumps(body))
    # Known gap: the description types message-level custom_args as a string; the API takes an
    # object of string values, as the official helper library sends it.
    body["properties"]["custom_args"] = {"type": "object", "additionalProperties": {"type": "string"}}
    root = {**body, "components": spec.get("components", {})}
    return jsonschema.Draft202012Validator(root)


def check_mail_send(payload: Any) -> list[dict[str, Any]]:
    """SendGrid-style error objects for a /v3/mail/send body (empty list: conforms)."""
    errors = []
    for error in sorted(_mail_validator().iter_errors(payload), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(part) for part in error.absolute_path) or None
        errors.append({"message": error.message, "field": where, "help": None})
    if isinstance(payload, dict):
        personalizations = payload.get("personalizations") or []
        if len(personalizations) > 1000:
            errors.append(
                {
                    "message": "The personalizations array exceeds the maximum of 1000 items.",
                    "field": "personalizations",
                    "help": None,
                }
            )
        for index, item in enumerate(personalizations):
            recipients = sum(len(item.get(kind) or []) for kind in ("to", "cc", "bcc"))
            if recipients > 1000:
                errors.append(
                    {
                        "message": "A personalization may have at most 1000 recipients.",
                        "field": f"personalizations.{index}",
                        "help": None,
                    }
                )
    return errors
