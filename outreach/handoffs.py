"""Work for people: the agent queue, letter batches, and approved agency and legal placements.

Agent callbacks and letters go out through the dispatcher like any other step
(the contact policy is asked again at send time); ``HandoffChannel`` turns them
into agent-queue rows and letter-batch lines, each saying whom it is for: the
debtor or another party on the account. Agency and legal placements wait
for a person: the campaign DAG asks in Airflow's Required Actions, and
``record_approval`` applies the answer, writing who decided, when and why, and
the placement file for each approved account.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from outreach.accounts.schema import CURRENCY_EXPONENT
from outreach.agencies import Agency, load_agencies
from outreach.channels import OutboundMessage, SendResult
from outreach.ladder import money
from outreach.ledger import Ledger
from outreach.messages import Renderer
from outreach.parties import DEBTOR, as_seen_by

log = logging.getLogger(__name__)

APPROVE = "Approve"
REJECT = "Reject"
LATER = "Decide next run"
APPROVAL_OPTIONS = [APPROVE, REJECT, LATER]
AWAITING = "awaiting_approval"
# An account the person left out of their decision: its placement keeps waiting for the next one.
KEPT_BACK = "kept_back"
# An approval naming an agency the bank has not listed: the account keeps waiting.
NOT_LISTED = "not_listed"
DECISION_NAME = {"approved": "approval", "rejected": "rejection"}

# What an outside agency needs to work an account, and nothing more: no consent
# flags, no internal notes, no contact history.
AGENCY_FIELDS = (
    "placement_id",
    "placed_on",
    "agency",
    "account_id",
    "name",
    "mobile_phone",
    "home_phone",
    "email",
    "country",
    "region",
    "postal_code",
    "locale",
    "product",
    "currency",
    "balance_due",
    "oldest_unpaid_due_date",
    "days_past_due",
    "last_payment_date",
    "last_payment_amount",
    # Where the debtor must first be told which agency collects: the first day it may contact them.
    "contact_from",
)
LEGAL_FIELDS = (
    "referral_id",
    "referred_on",
    "account_id",
    "name",
    "country",
    "region",
    "postal_code",
    "product",
    "currency",
    "balance_due",
    "oldest_unpaid_due_date",
    "days_past_due",
    "last_payment_date",
    "ladder_reason",
)
# A letter to another party on the account names them (``recipient``) and carries no address: the print
# house merges that party's postal address from its own file by account and recipient.
LETTER_FIELDS = (
    "step_key",
    "account_id",
    "recipient",
    "name",
    "country",
    "region",
    "postal_code",
    "locale",
    "letter",
)


@dataclass(frozen=True)
class StepRef:
    account_id: str
    campaign: str
    stage: str
    channel: str
    business_date: date

    @classmethod
    def parse(cls, step_key: str) -> StepRef:
        account_id, campaign, stage, channel, day = step_key.split("|")
        return cls(account_id, campaign, stage, channel, date.fromisoformat(day))


class HandoffChannel:
    """Agent callbacks become agent-queue rows; letters become lines of the day's letter batch."""

    def __init__(self, name: str, ledger: Ledger, directory: Path, run_id: str, accounts: Mapping[str, dict]):
        self.name = name
        self.ledger = ledger
        self.directory = directory
        self.run_id = run_id
        self.accounts = accounts

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        now = datetime.now(UTC)
        rows = []
        letters: dict[Path, list[dict[str, Any]]] = {}
        for message in batch:
            ref = StepRef.parse(message.step_key)
            output = None
            if self.name == "letter":
                path = self.directory / "letters" / f"{ref.business_date.isoformat()}-{ref.campaign}.csv"
                addressed = as_seen_by(self.accounts.get(message.account_id, {}), message.recipient)
                letters.setdefault(path, []).append(
                    {k: addressed.get(k) for k in LETTER_FIELDS if k in addressed}
                    | {"step_key": message.step_key, "recipient": message.recipient or DEBTOR, "letter": message.body}
                )
                output = str(path)
            rows.append(
                {
                    "step_key": message.step_key,
                    "run_id": self.run_id,
                    "business_date": ref.business_date,
                    "account_id": message.account_id,
                    "campaign": ref.campaign,
                    "stage": ref.stage,
                    "kind": self.name,
                    "agency": None,
                    "recipient": message.recipient,
                    "reason": message.body,
                    "status": "open" if self.name == "agent_queue" else "done",
                    "output_file": output,
                    "created_at": now,
                }
            )
        for path, lines in letters.items():
            _append_csv(path, LETTER_FIELDS, lines)
        self.ledger.add_handoffs(rows)
        return [SendResult(m.step_key, "sent", provider_message_id=f"{self.name}-{_short(m.step_key)}") for m in batch]


def _short(step_key: str) -> str:
    return hashlib.sha256(step_key.encode()).hexdigest()[:20]


def _append_csv(path: Path, fields: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fields), extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerows(rows)


def awaiting_approval(ledger: Ledger, campaign: str) -> pd.DataFrame:
    return ledger.handoffs(kind=["agency", "legal"], status=[AWAITING], campaign=campaign)


# The Required Actions page shows the body as one markdown page: past this many rows the rest are in the attached file.
APPROVAL_ROWS_SHOWN = 1000
APPROVAL_LIST_FIELDS = (
    "account_id",
    "placement",
    "stage",
    "bucket",
    "days_past_due",
    "country",
    "currency",
    "balance_due",
    "misfits",
    "why",
)


def approval_request(
    ledger: Ledger,
    campaign: str,
    business_date: date,
    agencies: Mapping[str, Agency],
    directory: Path,
) -> dict[str, Any]:
    """What the person approving sees: every account (no contact details), the total per currency, and
    the accounts that do not fit their agency's contract, flagged. The whole list is also written to a
    CSV file under ``directory`` for the person to keep or open in a spreadsheet."""
    pending = awaiting_approval(ledger, campaign)
    accounts = ledger.latest_snapshot(business_date).set_index("account_id", drop=False)
    rows = [_approval_row(r, accounts, agencies) for r in pending.to_dict("records")]
    totals: dict[str, int] = {}
    for row in rows:
        if row["currency"]:
            totals[row["currency"]] = totals.get(row["currency"], 0) + row["balance_minor"]
    listing = approval_list_path(directory, campaign, business_date)
    listing.parent.mkdir(parents=True, exist_ok=True)
    with listing.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(APPROVAL_LIST_FIELDS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    misfits = sum(1 for row in rows if row["misfits"])
    total = " and ".join(money(amount, currency) for currency, amount in sorted(totals.items())) or "nothing"
    shown = rows[:APPROVAL_ROWS_SHOWN]
    lines = [
        f"| {n} | {r['account_id']} | {r['placement']} | {r['bucket']} | {r['days_past_due']} | {r['balance_due']} "
        f"| {'⚠ ' + r['misfits'] if r['misfits'] else ''} | {r['why']} |"
        for n, r in enumerate(shown, 1)
    ]
    rest = f"\n\nThe other {len(rows) - len(shown)} account(s) are in the file below." if len(rows) > len(shown) else ""
    body = (
        f"**{len(rows)} account(s)** of campaign **{campaign}** are due for placement outside automation, "
        f"owing **{total}** in all.\n\n"
        + (
            f"**⚠ {misfits} account(s) do not fit their agency's contract** (flagged below): consider keeping "
            "them back.\n\n"
            if misfits
            else ""
        )
        + "- **Approve** places every account listed except those under *exclude*.\n"
        "- **Reject** keeps them in-house: they move on to the ladder's next stage.\n"
        "- **Decide next run** leaves them all waiting.\n\n"
        "Say why in *reason*: it is kept with the decision. Accounts named under *exclude* (ids separated by "
        "commas or spaces) are left out of the decision: they stay where they are, waiting for the next one, "
        "with the reason given under *why kept back*.\n\n"
        "| # | account | placement | bucket | DPD | balance | does not fit | why |\n"
        "|---|---|---|---|---|---|---|---|\n" + "\n".join(lines) + rest + f"\n\nThe full list: `{listing}`"
    )
    return {
        "count": len(rows),
        "subject": f"{campaign}: approve {len(rows)} placement(s) owing {total}",
        "body": body,
        "totals": totals,
        "misfits": misfits,
        "list_file": str(listing),
    }


def approval_list_path(directory: Path, campaign: str, business_date: date) -> Path:
    return directory / "approvals" / f"{business_date.isoformat()}-{campaign}.csv"


def _approval_row(handoff: Mapping[str, Any], accounts: pd.DataFrame, agencies: Mapping[str, Agency]) -> dict[str, Any]:
    account = accounts.loc[handoff["account_id"]].to_dict() if handoff["account_id"] in accounts.index else {}
    agency_id = handoff.get("agency")
    misfits: list[str] = []
    if not account:
        misfits.append("not in the latest accounts (paid or closed?)")
    elif handoff["kind"] == "agency":
        agency = agencies.get(agency_id or "")
        if agency is None:
            misfits.append(f"{agency_id} is not on the bank's agency list")
        else:
            misfits.extend(agency.misfits(account))
    currency = str(account.get("currency") or "")
    balance = int(account.get("balance_due_minor") or 0)
    return {
        "account_id": handoff["account_id"],
        "placement": f"{handoff['kind']}{' ' + agency_id if agency_id else ''}",
        "stage": handoff["stage"],
        "bucket": account.get("bucket") or "",
        "days_past_due": account.get("dpd") if account else "",
        "country": account.get("country") or "",
        "currency": currency,
        "balance_minor": balance,
        "balance_due": money(balance, currency) if currency else "",
        "misfits": "; ".join(misfits),
        "why": handoff["reason"],
    }


def record_approval(
    ledger: Ledger,
    campaign: str,
    response: Mapping[str, Any] | None,
    business_date: date,
    directory: Path,
    agencies: Mapping[str, Agency] | None = None,
) -> dict[str, int]:
    """Apply a person's answer to every placement awaiting approval in ``campaign``.

    Only an agency on the bank's list (``agencies``, by default the configured file) is placed
    with: an approval naming another leaves the account waiting, with that reason (CN-8).

    ``response`` is what Airflow's Human-in-the-loop operator returned: ``chosen_options``,
    ``params_input`` (``reason``, ``exclude``), ``responded_by_user`` and ``responded_at``.
    No response, or the default applied when nobody answered in time, lets the request lapse:
    the next run asks again.
    """
    pending = awaiting_approval(ledger, campaign)
    if pending.empty:
        return {}
    response = response or {}
    chosen = list(response.get("chosen_options") or [LATER])
    params = dict(response.get("params_input") or {})
    user = response.get("responded_by_user") or None
    who = (user.get("name") or user.get("id")) if isinstance(user, Mapping) else user
    at = response.get("responded_at") or datetime.now(UTC)
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    note = str(params.get("reason") or "").strip()
    excluded = {a.strip().upper() for a in str(params.get("exclude") or "").replace(",", " ").split() if a.strip()}
    kept_back_because = " ".join(str(params.get("exclude_reason") or "").split()) or "no reason given"

    if who is None or chosen == [LATER]:
        status, note = "timed_out", note or ("nobody answered in time" if who is None else "left for the next run")
    elif (chosen == [APPROVE] or chosen == [REJECT]) and not note:
        # The form requires a reason; a response without one is not an approval anyone can audit.
        status, note = "timed_out", f"{chosen[0].lower()} without a reason is not recorded; asked again next run"
    else:
        status = "approved" if chosen == [APPROVE] else "rejected"

    listed = load_agencies() if agencies is None else agencies
    # The placements' own accounts, as the day's book holds them: never the whole book.
    pulled_today = ledger.latest_business_date(business_date) == business_date
    accounts = ledger.accounts_on(business_date, pending["account_id"]) if pulled_today else {}
    updates: list[dict[str, Any]] = []
    placed: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    notices: list[dict[str, Any]] = []
    for row in pending.to_dict("records"):
        row_status, row_note = status, note
        if status in ("approved", "rejected") and str(row["account_id"]).upper() in excluded:
            # Left out of the decision, not decided: the placement keeps waiting and the next run asks again.
            row_status, row_note = (
                KEPT_BACK,
                f"kept back by {who} from the {DECISION_NAME[status]}: {kept_back_because}",
            )
        output = None
        if row_status == "approved" and row["kind"] == "agency" and row["agency"] not in listed:
            row_status, row_note = (
                NOT_LISTED,
                f"approved, but {row['agency']} is not on the bank's list of agencies, so nothing was placed;"
                " only a listed agency may collect (add it to the agencies file, or change the campaign)",
            )
        if row_status == "approved":
            account = accounts.get(row["account_id"])
            if account is None:
                row_status, row_note = "timed_out", "not in today's accounts (paid or closed?); asked again next run"
            else:
                line = placement_line(row, account, business_date, at)
                if row["kind"] == "agency" and str(account.get("country")) in TOLD_FIRST_COUNTRIES:
                    contact_from = business_date + AGENCY_NOTICE_DAYS
                    notices.append(_agency_notice(row, account, listed[row["agency"]].name, contact_from))
                    line["contact_from"] = contact_from.isoformat()
                    row_note = (
                        f"{row_note}; the debtor is told by letter that {listed[row['agency']].name} collects,"
                        f" and the agency may contact them from {contact_from} (CN-4, CN-5)"
                    )
                placed.setdefault((row["kind"], row["agency"]), []).append(line)
                row_status = "placed"
                output = str(placement_path(directory, row["kind"], row["agency"], campaign, business_date))
        decided = row_status not in ("timed_out", KEPT_BACK, NOT_LISTED)
        updates.append(
            {
                "id": row["id"],
                "status": AWAITING if row_status in (KEPT_BACK, NOT_LISTED) else row_status,
                "decision": row_status,
                "by": who if row_status != "timed_out" else None,
                "decided_by": who if decided else None,
                "decided_at": at if decided else None,
                "note": row_note,
                "output_file": output,
            }
        )
    if notices:
        _append_csv(
            directory / "letters" / f"{business_date.isoformat()}-{campaign}-agency-notices.csv", LETTER_FIELDS, notices
        )
    for (kind, agency), lines in placed.items():
        fields = AGENCY_FIELDS if kind == "agency" else LEGAL_FIELDS
        _append_csv(placement_path(directory, kind, agency, campaign, business_date), fields, lines)
    ledger.decide_handoffs(updates)
    ledger.record_decisions(
        [
            {
                "decided_at": u["decided_at"] or (at if u["by"] else datetime.now(UTC)),
                "run_id": str(row["run_id"]),
                "business_date": business_date,
                "account_id": row["account_id"],
                "step_key": row["step_key"],
                "actor": "person" if u["by"] else "planner",
                "decision": u["decision"],
                "rule_ids": "",
                "reason": f"[{campaign}] {row['stage']} ({row['kind']}): "
                + (u["note"] if u["decision"] == KEPT_BACK else f"{u['decision']}")
                + (f" by {u['by']}" if u["by"] and u["decision"] != KEPT_BACK else "")
                + (f": {u['note']}" if u["note"] and u["decision"] != KEPT_BACK else ""),
            }
            for row, u in zip(pending.to_dict("records"), updates, strict=True)
        ]
    )
    counts: dict[str, int] = {}
    for u in updates:
        counts[u["decision"]] = counts.get(u["decision"], 0) + 1
    log.info("placements of %s: %s (decided by %s)", campaign, counts, who or "nobody")
    return counts


# Where the debtor must be told which agency collects before its first contact (China: CN-4, CN-5),
# and the days a letter is given to arrive before the agency may call.
TOLD_FIRST_COUNTRIES = frozenset({"CN"})
AGENCY_NOTICE_DAYS = timedelta(days=7)


def _agency_notice(row: Mapping[str, Any], account: Mapping[str, Any], agency_name: str, contact_from: date) -> dict:
    """The letter-batch line telling the debtor which agency will collect, and from when."""
    letter = Renderer().render_notice(
        "agency_notice", dict(account), agency_name=agency_name, contact_from=contact_from.isoformat()
    )
    return (
        {"step_key": f"{row['step_key']}|notice"}
        | {k: account.get(k) for k in LETTER_FIELDS if k in account}
        | {"recipient": DEBTOR, "letter": letter}
    )


def placement_path(directory: Path, kind: str, agency: str | None, campaign: str, business_date: date) -> Path:
    name = f"{agency}" if kind == "agency" else "legal-review"
    return (
        directory / ("agency" if kind == "agency" else "legal") / f"{business_date.isoformat()}-{campaign}-{name}.csv"
    )


def placement_line(row: Mapping[str, Any], account: Mapping[str, Any], on: date, at: datetime) -> dict[str, Any]:
    exponent = CURRENCY_EXPONENT.get(str(account.get("currency")), 2)

    def amount(minor: Any) -> str | None:
        return None if minor is None or minor != minor else f"{Decimal(int(minor)).scaleb(-exponent):.{exponent}f}"

    common = {
        "account_id": account["account_id"],
        "name": account.get("name"),
        "country": account.get("country"),
        "region": account.get("region"),
        "postal_code": account.get("postal_code"),
        "product": account.get("product"),
        "currency": account.get("currency"),
        "balance_due": amount(account.get("balance_due_minor")),
        "oldest_unpaid_due_date": account.get("oldest_unpaid_due_date"),
        "days_past_due": account.get("dpd"),
        "last_payment_date": account.get("last_payment_date"),
    }
    if row["kind"] == "agency":
        return common | {
            "placement_id": f"PL-{row['id']}",
            "placed_on": on.isoformat(),
            "agency": row["agency"],
            "mobile_phone": account.get("mobile_phone"),
            "home_phone": account.get("home_phone"),
            "email": account.get("email"),
            "locale": account.get("locale"),
            "last_payment_amount": amount(account.get("last_payment_amount_minor")),
        }
    return common | {"referral_id": f"LR-{row['id']}", "referred_on": on.isoformat(), "ladder_reason": row["reason"]}
