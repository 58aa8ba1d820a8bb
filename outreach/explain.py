"""``outreach explain``: one account's story, day by day, with the reason behind every step.

Everything comes from the ledger: the daily snapshots (DPD, bucket), every
decision by the planner, the dispatcher and people, every attempt and what the
provider said, replies, payments, promises and hand-offs. Contact details are
masked.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import select

from outreach.ledger import Ledger
from outreach.ledger.schema import ATTORNEY_ANSWER, events, handoffs, payments, planned_steps
from outreach.masking import mask_address
from outreach.parties import spoken


def _day(value: Any) -> date:
    return pd.Timestamp(value).date()


# What the Reassigned Numbers Database's answers mean, for a person reading the timeline.
NUMBER_CHECK_ANSWERS = {
    "yes": "reassigned (disconnected since consent): no automated texts or calls",
    "no": "not reassigned",
    "no_data": "no data",
}

# What the debtor did on the self-service page, for a person reading the timeline.
SELF_SERVICE_WORDS = {
    "opened": "link opened",
    "verified": "verified with the texted code",
    "pay": "went to the bank's payment page",
    "promise": "promised to pay",
    "plan": "chose a repayment plan",
    "plan_request": "asked for another repayment plan",
    "dispute": "disputed the debt",
    "hardship": "asked for hardship help",
    "complaint": "made a complaint",
    "preferences": "changed contact preferences",
}


def _event_line(row: dict) -> str:
    if row["kind"] == "number_check":
        answer = NUMBER_CHECK_ANSWERS.get(row["outcome"], row["outcome"])
        return f"Reassigned Numbers Database on {mask_address('sms', row['address'])}: {answer}"
    if row["kind"] == "call_consent":
        return f"the consumer asked to be called at {mask_address('voice', row['address'])}"
    if row["kind"] == "self_service":
        reference = (row.get("payload") or {}).get("reference")
        words = SELF_SERVICE_WORDS.get(row["outcome"], row["outcome"])
        return f"self-service page: {words}{f' ({reference})' if reference else ''}"
    if row["kind"] == ATTORNEY_ANSWER:
        payload = row.get("payload") or {}
        note = f": {payload['note']}" if payload.get("note") else ""
        return f"the attorney answered by {row['channel']} (recorded by {payload.get('recorded_by')}){note}"
    outcome = f" {row['outcome']}" if row["outcome"] else ""
    return f"event: {row['kind']}{outcome} on {row['channel'] or '-'}"


def explain(ledger: Ledger, account_id: str, until: date | None = None) -> str | None:
    """The account's timeline up to ``until`` (inclusive), or None when the ledger has never seen it."""
    timeline = ledger.account_timeline(account_id)
    with ledger.engine.connect() as conn:
        steps = pd.read_sql(
            select(
                planned_steps.c.step_key,
                planned_steps.c.stage,
                planned_steps.c.contact_address,
                planned_steps.c.recipient,
            ).where(planned_steps.c.account_id == account_id),
            conn,
        )
        recorded = pd.read_sql(select(events).where(events.c.account_id == account_id), conn)
        paid = pd.read_sql(select(payments).where(payments.c.account_id == account_id), conn)
        work = pd.read_sql(select(handoffs).where(handoffs.c.account_id == account_id), conn)
    promises = ledger.promises_of(account_id)
    if all(frame.empty for frame in (*timeline.values(), recorded, paid)):
        return None

    days: dict[date, list[str]] = defaultdict(list)
    for row in timeline["snapshots"].to_dict("records"):
        flags = f", flags {row['flags']}" if row["flags"] else ""
        days[_day(row["business_date"])].insert(0, f"DPD {row['dpd']}, bucket {row['bucket']}{flags}")
    for row in timeline["decisions"].to_dict("records"):
        rules = f" [{row['rule_ids']}]" if row["rule_ids"] else ""
        days[_day(row["business_date"])].append(f"{row['actor']}: {row['decision']}{rules}  {row['reason']}")
    stage_of = dict(zip(steps["step_key"], steps["stage"], strict=True))
    address_of = dict(zip(steps["step_key"], steps["contact_address"], strict=True))
    # Whom a step addressed when it was not the debtor: "to the guarantor at a***@example.com", or
    # "to the guarantor" for a letter (no address of theirs is on file).
    whom = {
        key: f"the {spoken(recipient)}"
        for key, recipient in zip(steps["step_key"], steps["recipient"], strict=True)
        if isinstance(recipient, str) and recipient
    }
    for row in timeline["attempts"].to_dict("records"):
        day = date.fromisoformat(row["step_key"].rsplit("|", 1)[1])
        error = f" ({row['error_code']}: {row['error']})" if row["error_code"] else ""
        to = mask_address(row["channel"], address_of.get(row["step_key"]))
        target = " at ".join(part for part in (whom.get(row["step_key"], ""), to) if part) or "-"
        days[day].append(
            f"attempt: {row['channel']} {stage_of.get(row['step_key'], '')} to {target}: {row['status']}{error}"
        )
    for row in recorded.to_dict("records"):
        days[_day(row["occurred_at"])].append(_event_line(row))
    for row in paid.to_dict("records"):
        days[_day(row["paid_on"])].append(
            f"payment: {row['currency']} {row['amount_minor'] / 100:,.2f} ({row['source']})"
        )
    for row in promises.to_dict("records"):
        settled = f", {row['status']} {row['resolved_on']}" if row["status"] != "open" else ", open"
        plan = row.get("instalments")
        amount = f"{row['currency']} {row['amount_minor'] / 100:,.2f}"
        what = (
            f"repayment plan: {amount} in {len(plan)} instalments, the last by {row['promised_on']}"
            if isinstance(plan, list) and plan
            else f"promise: {amount} by {row['promised_on']}"
        )
        days[_day(row["recorded_at"])].append(f"{what} (via {row['source']}, {row['recorded_by']}){settled}")
    for row in work.to_dict("records"):
        decided = f", {row['decided_by']}: {row['decision_note']}" if row["decided_by"] else ""
        recipient = row.get("recipient")
        to = f" to the {spoken(recipient)}" if isinstance(recipient, str) and recipient else ""
        days[_day(row["business_date"])].append(f"hand-off: {row['kind']}{to} {row['status']}{decided}")

    lines = [f"Account {account_id}"]
    position = ledger.positions([account_id]).get(account_id)
    if position is not None:
        arm = f", variant {position.variant}" if position.variant else ""
        lines.append(
            f"Now: {position.campaign} stage {position.stage} (since {position.stage_since}), {position.status}"
            f"{arm}: {position.status_reason}"
        )
    for day in sorted(days):
        if until is not None and day > until:
            continue
        lines.append(f"{day} ({day:%a})")
        lines += [f"  {entry}" for entry in days[day]]
    return "\n".join(lines)
