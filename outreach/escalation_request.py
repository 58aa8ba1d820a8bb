"""The manual escalation request: the Airflow form's values, checked before anything is read or moved.

Kept apart from ``outreach.escalation`` so the DAG file can build its form
(target stages, the reason's minimum length) without loading pandas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from outreach.campaigns import Campaign
from outreach.saved_segments import Segment

# Short reasons ("ok", "test") say nothing to the compliance officer who reads them later.
MIN_REASON_LENGTH = 10
# A request bigger than this is a campaign change, not an escalation by hand.
MAX_ACCOUNTS = 5000
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
ACCOUNT_SEPARATORS = re.compile(r"[\s,;]+")


class EscalationError(ValueError):
    """The request is unusable; each line names the field and the problem."""


@dataclass(frozen=True)
class EscalationRequest:
    campaign: str
    stage: str
    reason: str
    requested_by: str
    account_ids: tuple[str, ...] = ()
    segment: str | None = None
    dry_run: bool = True
    # None: the latest business date whose accounts have been pulled.
    business_date: date | None = None

    @property
    def selector(self) -> str:
        if self.segment:
            return f"segment: {self.segment}"
        shown = ", ".join(self.account_ids[:20])
        more = f" and {len(self.account_ids) - 20} more" if len(self.account_ids) > 20 else ""
        return f"accounts: {shown}{more}"


def target_choices(campaigns: Iterable[Campaign]) -> dict[str, str]:
    """Every stage a person may escalate to: form value ``campaign/stage`` -> label."""
    choices: dict[str, str] = {}
    for campaign in campaigns:
        for stages in campaign.ladders().values():
            for number, stage in enumerate(stages, 1):
                choices.setdefault(f"{campaign.id}/{stage.id}", f"{campaign.name}: {number}. {stage.describe()}")
    return choices


def split_account_ids(value: Any) -> tuple[list[str], list[str]]:
    """(account ids in order without repeats, entries that are not account ids)."""
    if value is None:
        return [], []
    items = value if isinstance(value, list | tuple) else ACCOUNT_SEPARATORS.split(str(value))
    ids: list[str] = []
    bad: list[str] = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        if not ACCOUNT_ID.match(item):
            bad.append(item)
        elif item not in ids:
            ids.append(item)
    return ids, bad


def parse_request(
    params: Mapping[str, Any],
    requested_by: str | None,
    campaigns: Mapping[str, Campaign],
    segments: Mapping[str, Segment],
) -> EscalationRequest:
    """The form's values checked; every problem found is reported at once, one line per field."""
    problems: list[str] = []
    if not (requested_by or "").strip():
        problems.append("requested_by: the run names no user; trigger it as a named user (UI or API)")

    target = str(params.get("target_stage") or "")
    campaign_id, _, stage_id = target.partition("/")
    campaign = campaigns.get(campaign_id)
    if campaign is None:
        problems.append(f"target_stage: {target!r} is not campaign/stage (campaigns: {', '.join(sorted(campaigns))})")
    else:
        stage_ids = {s.id for stages in campaign.ladders().values() for s in stages}
        if stage_id not in stage_ids:
            problems.append(f"target_stage: {campaign_id} has no stage {stage_id!r} ({', '.join(sorted(stage_ids))})")

    reason = " ".join(str(params.get("reason") or "").split())
    if len(reason) < MIN_REASON_LENGTH:
        problems.append(f"reason: say why in at least {MIN_REASON_LENGTH} characters; it is kept on every account")

    account_ids, malformed = split_account_ids(params.get("account_ids"))
    if malformed:
        problems.append(f"account_ids: not account ids: {', '.join(repr(m) for m in malformed[:10])}")
    if len(account_ids) > MAX_ACCOUNTS:
        problems.append(f"account_ids: {len(account_ids)} accounts; at most {MAX_ACCOUNTS} at a time")
    segment = str(params.get("segment") or "").strip() or None
    if segment is not None and segment not in segments:
        problems.append(f"segment: no saved segment {segment!r} (saved: {', '.join(sorted(segments)) or 'none'})")
    if segment and (account_ids or malformed):
        problems.append("account_ids, segment: give account ids or a saved segment, not both")
    if not segment and not account_ids and not malformed:
        problems.append("account_ids, segment: name the accounts, by id or with a saved segment")

    dry_run = params.get("dry_run", True)
    if not isinstance(dry_run, bool):
        problems.append(f"dry_run: {dry_run!r} is not true or false")

    business_date = None
    raw_date = str(params.get("business_date") or "").strip()
    if raw_date:
        try:
            business_date = date.fromisoformat(raw_date)
        except ValueError:
            problems.append(f"business_date: {raw_date!r} is not a date (YYYY-MM-DD); leave it empty for the latest")

    if problems:
        raise EscalationError("\n".join(problems))
    return EscalationRequest(
        campaign=campaign_id,
        stage=stage_id,
        reason=reason,
        requested_by=str(requested_by).strip(),
        account_ids=tuple(account_ids),
        segment=segment,
        dry_run=bool(dry_run),
        business_date=business_date,
    )
