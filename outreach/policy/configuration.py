"""Start-up checks of a deployment's configuration against rules no single message can catch."""

from __future__ import annotations

from collections.abc import Iterable

THIRD_PARTY = frozenset({"third_party", "debt_buyer"})


class ConfigurationRefused(RuntimeError):
    """The deployment is configured to do something a rule forbids outright."""


def check_deployment(collector_type: str, sms_provider: str, channels_in_use: Iterable[str]) -> None:
    """Refuse, before any run, a configuration that would break a provider's use-case ban."""
    if collector_type in THIRD_PARTY and sms_provider == "twilio" and "sms" in set(channels_in_use):
        raise ConfigurationRefused(
            f"OUTREACH_COLLECTOR_TYPE={collector_type} with SMS through Twilio is refused: Twilio forbids "
            "third-party debt collection over SMS (10DLC campaigns are rejected with error 30943, toll-free "
            "with 30460, with no resubmission). Remove the SMS stages from the campaigns or send texts "
            "through a provider that allows this use case."
        )
