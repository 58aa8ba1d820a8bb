"""Runtime settings, read from environment variables.

Every deployment-specific value (where the ledger lives, which file holds the
day's accounts, the business timezone) is one variable, so moving from the
embedded SQLite defaults to PostgreSQL is configuration, not code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The campaigns shipped with the project; OUTREACH_CAMPAIGNS_DIR points elsewhere.
SHIPPED_CAMPAIGNS = Path(__file__).resolve().parents[1] / "campaigns"
# The saved segments for manual escalation; OUTREACH_SEGMENTS_FILE points elsewhere.
SHIPPED_SEGMENTS = Path(__file__).resolve().parents[1] / "segments.yaml"
SHIPPED_AGENCIES = Path(__file__).resolve().parents[1] / "agencies.yaml"
# More shards than workers only adds tasks: 64 covers any pool of workers a day needs.
MAX_SHARDS = 64


class SettingsError(ValueError):
    """A setting is missing or unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path
    ledger_url: str
    accounts_file: Path
    timezone: str
    campaigns_dir: Path = SHIPPED_CAMPAIGNS
    segments_file: Path = SHIPPED_SEGMENTS
    agencies_file: Path = SHIPPED_AGENCIES
    collector_type: str = "first_party"
    channel_set: str = "log"
    policy_settings: Path | None = None
    source_spec: Path | None = None
    # Seconds a send whose outcome is unknown (an expired claim, a timeout after the request went)
    # is left for the provider's callbacks before it is looked up at the provider.
    reconcile_after: float = 900.0
    # Seconds a claim stays the claiming worker's; a live worker renews it while its batch is out.
    claim_lease: float = 120.0
    # Minutes before a send the provider refused for now (429, 5xx, unreachable) is tried again today.
    transient_retry_minutes: float = 30.0
    max_sms_segments: int = 3
    # A wave whose sends fail above this share (of at least ``failure_alarm_min_sends``) stops the day.
    max_failure_share: float = 0.25
    failure_alarm_min_sends: int = 20
    # Account shards a campaign's day is planned and dispatched in, each a task of its own
    # (``outreach.shards``): more than one spreads the day over the executor's workers.
    shards: int = 1
    # Accounts a plan holds at once: a shard larger than this is planned in rounds, each read, decided
    # and saved before the next, so the plan's memory follows the round, not the book.
    plan_round_accounts: int = 100_000
    # Days a pull's staged accounts are kept for its segmentation to be run again; older ones are removed.
    staged_days: int = 7

    @property
    def sms_provider(self) -> str:
        # The sandbox stands in for Twilio: the same use-case rules apply to it.
        return "twilio" if self.channel_set in ("providers", "sandbox") else self.channel_set

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def handoffs_dir(self) -> Path:
        """Files for people outside the system: agency placements, letter batches, legal reviews."""
        return self.home / "handoffs"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def cache_dir(self) -> Path:
        """What a task may keep to spare the next one work, and lose at no cost but that work."""
        return self.home / "cache"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("OUTREACH_HOME") or Path.cwd() / "var").resolve()
        timezone = env.get("OUTREACH_TIMEZONE") or "America/New_York"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"OUTREACH_TIMEZONE={timezone!r} is not an IANA timezone name") from exc
        campaigns = env.get("OUTREACH_CAMPAIGNS_DIR")
        segments = env.get("OUTREACH_SEGMENTS_FILE")
        agencies = env.get("OUTREACH_AGENCIES_FILE")
        collector_type = env.get("OUTREACH_COLLECTOR_TYPE") or "first_party"
        if collector_type not in {"first_party", "third_party", "debt_buyer"}:
            raise SettingsError(
                f"OUTREACH_COLLECTOR_TYPE={collector_type!r} must be first_party, third_party or debt_buyer"
            )
        policy_settings = env.get("OUTREACH_POLICY_SETTINGS")
        max_failure_share = _number(env, "OUTREACH_MAX_FAILURE_SHARE", 0.25)
        if not 0 < max_failure_share <= 1:
            raise SettingsError(f"OUTREACH_MAX_FAILURE_SHARE={max_failure_share} must be above 0 and at most 1")
        shards = _number(env, "OUTREACH_SHARDS", 1)
        if shards != int(shards) or not 1 <= shards <= MAX_SHARDS:
            raise SettingsError(
                f"OUTREACH_SHARDS={env.get('OUTREACH_SHARDS')!r} must be a whole number from 1 to {MAX_SHARDS}"
            )
        return cls(
            home=home,
            ledger_url=env.get("OUTREACH_LEDGER_URL") or f"sqlite:///{home / 'ledger.db'}",
            accounts_file=Path(env.get("OUTREACH_ACCOUNTS_FILE") or home / "accounts.csv"),
            timezone=timezone,
            campaigns_dir=Path(campaigns) if campaigns else SHIPPED_CAMPAIGNS,
            segments_file=Path(segments) if segments else SHIPPED_SEGMENTS,
            agencies_file=Path(agencies) if agencies else SHIPPED_AGENCIES,
            collector_type=collector_type,
            channel_set=env.get("OUTREACH_CHANNELS") or "log",
            policy_settings=Path(policy_settings) if policy_settings else None,
            source_spec=Path(env["OUTREACH_SOURCE"]) if env.get("OUTREACH_SOURCE") else None,
            reconcile_after=_number(env, "OUTREACH_RECONCILE_AFTER_SECONDS", 900),
            claim_lease=_positive(env, "OUTREACH_CLAIM_LEASE_SECONDS", 120),
            transient_retry_minutes=_positive(env, "OUTREACH_TRANSIENT_RETRY_MINUTES", 30),
            max_sms_segments=int(env.get("OUTREACH_SMS_MAX_SEGMENTS") or 3),
            max_failure_share=max_failure_share,
            failure_alarm_min_sends=int(_number(env, "OUTREACH_FAILURE_ALARM_MIN_SENDS", 20)),
            shards=int(shards),
            plan_round_accounts=_whole(env, "OUTREACH_PLAN_ROUND_ACCOUNTS", 100_000),
            staged_days=_whole(env, "OUTREACH_STAGED_DAYS", 7),
        )


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    value = _number(env, name, default)
    if value != int(value) or value < 1:
        raise SettingsError(f"{name}={env.get(name)!r} must be a whole number of at least 1")
    return int(value)


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default)
    if value <= 0:
        raise SettingsError(f"{name}={env.get(name)!r} must be above 0")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name) or default)
    except ValueError as exc:
        raise SettingsError(f"{name}={env.get(name)!r} is not a number") from exc
