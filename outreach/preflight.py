"""What a deployment must have before it contacts anyone, checked before it starts.

A production deployment (``OUTREACH_ENVIRONMENT=production``, or real providers with
``OUTREACH_CHANNELS=providers``) refuses to start, naming each problem, when a secret it needs
is missing, empty or still a placeholder, or when a setting would contact people unsafely:
real providers without a public callback URL (receipts never settle, calls cannot detect an
answering machine), or test numbers and example domains as senders. A placeholder is refused
in every environment: it is never a real secret. The embedded defaults (SQLite, the log or
sandbox channels) need none of these and only hear what is missing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Values an example file or a template leaves in place of a real secret.
PLACEHOLDER = re.compile(r"change[-_ ]?me|placeholder|replace[-_ ]?me|your[-_ ]|^x{4,}$|^<.*>$", re.IGNORECASE)
# Twilio's magic test numbers (+1 500 555 0000-0009) work only with test credentials.
TWILIO_TEST_NUMBER = re.compile(r"^\+1500555\d{4}$")
# RFC 2606 / 6761 names that are never anyone's real domain.
EXAMPLE_DOMAIN = re.compile(r"(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$", re.IGNORECASE)
LINK_SECRET_MIN_LENGTH = 32

# Every secret the features read, and what it protects (the README's production table).
SECRETS = {
    "OUTREACH_LINK_SECRET": "keys the pay and unsubscribe links in every message",
    "OUTREACH_PAYMENTS_SECRET": "verifies the bank's payment notices to /outreach/payments",
    "OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY": "verifies SendGrid's signed event webhook",
    "TWILIO_ACCOUNT_SID": "the Twilio account texts and calls are sent from",
    "TWILIO_AUTH_TOKEN": "authenticates to Twilio and verifies Twilio's webhooks",
    "SENDGRID_API_KEY": "authenticates to SendGrid",
    "AIRFLOW__API_AUTH__JWT_SECRET": "signs Airflow's logins and task tokens",
    "AIRFLOW__API__SECRET_KEY": "signs Airflow's API server sessions",
}
# The secrets every production deployment needs, whatever its channels.
PRODUCTION_SECRETS = ("OUTREACH_LINK_SECRET", "OUTREACH_PAYMENTS_SECRET")
# The secrets real providers need on top.
PROVIDER_SECRETS = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "SENDGRID_API_KEY",
    "OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY",
)
# What every message says about who sends it: a production deployment never sends the example's.
IDENTITY = {
    "OUTREACH_BUSINESS_NAME": "the creditor's name every message gives",
    "OUTREACH_CALLBACK_NUMBER": "the number debtors are asked to call",
    "OUTREACH_POSTAL_ADDRESS": "the postal address every email must carry",
    "OUTREACH_PAY_URL": "the self-service page (public URL ending /r/) the link in each message leads to",
    "OUTREACH_BANK_PAYMENT_URL": "the bank's payment page the self-service page's Pay now hands off to",
}
# Credentials kept in Airflow's connections are checked when each dispatch starts, where they are read.
CREDENTIALS_IN_AIRFLOW = "airflow-connections"
DATABASE_URLS = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "OUTREACH_LEDGER_URL")
SENDER_SETTINGS = {"sms": "OUTREACH_SMS_FROM", "voice": "OUTREACH_VOICE_FROM", "email": "OUTREACH_EMAIL_FROM"}


@dataclass(frozen=True)
class Problem:
    setting: str
    reason: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.reason}"


class UnsafeDeployment(RuntimeError):
    """The deployment must not run as configured; the message lists every problem."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"refusing to run: {len(self.problems)} unsafe setting(s)\n{lines}")


def is_placeholder(value: str) -> bool:
    return bool(PLACEHOLDER.search(value.strip()))


def is_strict(env: Mapping[str, str]) -> bool:
    return (env.get("OUTREACH_ENVIRONMENT") or "development") == "production" or real_providers(env)


def real_providers(env: Mapping[str, str]) -> bool:
    return env.get("OUTREACH_CHANNELS") == "providers"


def deployment_problems(
    env: Mapping[str, str],
    campaign_senders: Mapping[str, Mapping[str, str]] | None = None,
    credentials_read: bool = False,
) -> list[Problem]:
    """Everything that stops this deployment from running safely; empty when it may run.

    ``campaign_senders`` maps a campaign file to the sender settings it overrides (as
    ``Senders.environment()`` gives them). ``credentials_read``: ``env`` holds the credentials
    and senders in use (a dispatch read them from Airflow's connections), so they are checked
    even where ``OUTREACH_CREDENTIALS`` says they live in the connections.
    """
    problems = [*_placeholder_secrets(env)]
    if is_strict(env):
        problems += _missing(env, PRODUCTION_SECRETS)
        link_secret = (env.get("OUTREACH_LINK_SECRET") or "").strip()
        if link_secret and not is_placeholder(link_secret) and len(link_secret) < LINK_SECRET_MIN_LENGTH:
            problems.append(
                Problem(
                    "OUTREACH_LINK_SECRET", f"is shorter than {LINK_SECRET_MIN_LENGTH} characters: too easy to guess"
                )
            )
        problems += [
            Problem(name, f"is not set ({purpose}): messages would carry the example's")
            for name, purpose in IDENTITY.items()
            if not (env.get(name) or "").strip()
        ]
        for name in ("OUTREACH_PAY_URL", "OUTREACH_BANK_PAYMENT_URL"):
            url = (env.get(name) or "").strip()
            if url and (urlsplit(url).scheme != "https" or not _public_host(urlsplit(url).hostname or "")):
                problems.append(Problem(name, f"{url!r} must be a public https URL"))
    if real_providers(env):
        in_airflow = env.get("OUTREACH_CREDENTIALS") == CREDENTIALS_IN_AIRFLOW and not credentials_read
        problems += _missing(env, ["OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY"] if in_airflow else PROVIDER_SECRETS)
        problems += callback_problems(env)
        if not in_airflow:
            problems += sender_problems(env, "the senders in use")
        for campaign, senders in (campaign_senders or {}).items():
            problems += sender_problems(senders, f"campaign {campaign}", require=False)
        for name in ("TWILIO_BASE_URL", "SENDGRID_BASE_URL"):
            if env.get(name) and not _secure_or_local(env[name]):
                problems.append(Problem(name, f"{env[name]!r} would send credentials in clear: use https"))
    return problems


def refuse_unsafe(env: Mapping[str, str], credentials_read: bool = False) -> None:
    problems = deployment_problems(env, credentials_read=credentials_read)
    if problems:
        raise UnsafeDeployment(problems)


def missing_webhook_secrets(env: Mapping[str, str]) -> list[str]:
    """What the plugin's endpoints will refuse every request for, said once at start-up."""
    refused = []
    if not _usable(env.get("OUTREACH_PAYMENTS_SECRET")):
        refused.append("payment notices (OUTREACH_PAYMENTS_SECRET is missing or a placeholder)")
    if not _usable(env.get("OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY")):
        refused.append("SendGrid events (OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY is missing or a placeholder)")
    return refused


def callback_problems(env: Mapping[str, str]) -> list[Problem]:
    base = (env.get("OUTREACH_CALLBACK_BASE_URL") or "").strip()
    if not base:
        return [
            Problem(
                "OUTREACH_CALLBACK_BASE_URL",
                "is not set: texts would go without delivery receipts, and calls cannot fetch their words "
                "from the plugin's voice route (answering-machine detection, keypress menu)",
            )
        ]
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.hostname:
        return [Problem("OUTREACH_CALLBACK_BASE_URL", f"{base!r} must be an https URL the providers can reach")]
    if not _public_host(parts.hostname):
        return [Problem("OUTREACH_CALLBACK_BASE_URL", f"{base!r} is not reachable from Twilio or SendGrid")]
    return []


def sender_problems(env: Mapping[str, str], whose: str, require: bool = True) -> list[Problem]:
    problems = []
    for channel, name in SENDER_SETTINGS.items():
        value = (env.get(name) or "").strip()
        if not value:
            if require:
                problems.append(Problem(name, f"no {channel} sender is set ({whose})"))
            continue
        if channel in ("sms", "voice") and TWILIO_TEST_NUMBER.match(value):
            problems.append(Problem(name, f"{whose} sends {channel} from {value}, a Twilio test-only number"))
        if channel == "email" and EXAMPLE_DOMAIN.search(value.rpartition("@")[2]):
            problems.append(Problem(name, f"{whose} sends email from {value}, an example domain"))
    return problems


def _placeholder_secrets(env: Mapping[str, str]) -> list[Problem]:
    problems = [
        Problem(name, "is still the example file's placeholder")
        for name in SECRETS
        if env.get(name) and is_placeholder(env[name])
    ]
    for name in DATABASE_URLS:
        try:
            password = make_url(env[name]).password if env.get(name) else None
        except ArgumentError:
            continue
        if password and is_placeholder(str(password)):
            problems.append(Problem(name, "its password is still the example file's placeholder"))
    return problems


def _missing(env: Mapping[str, str], names: Iterable[str]) -> list[Problem]:
    return [Problem(name, f"is not set ({SECRETS[name]})") for name in names if not (env.get(name) or "").strip()]


def _usable(value: str | None) -> bool:
    return bool(value and value.strip()) and not is_placeholder(value or "")


def _public_host(host: str) -> bool:
    if host == "localhost" or EXAMPLE_DOMAIN.search(host) or host.endswith(".local") or "." not in host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return address.is_global


def _secure_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
