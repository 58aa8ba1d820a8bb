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


class SettingsError(ValueError):
    """A setting is missing or unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path
    ledger_url: str
    accounts_file: Path
    timezone: str
    campaigns_dir: Path | None

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

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
        return cls(
            home=home,
            ledger_url=env.get("OUTREACH_LEDGER_URL") or f"sqlite:///{home / 'ledger.db'}",
            accounts_file=Path(env.get("OUTREACH_ACCOUNTS_FILE") or home / "accounts.csv"),
            timezone=timezone,
            campaigns_dir=Path(campaigns) if campaigns else None,
        )
