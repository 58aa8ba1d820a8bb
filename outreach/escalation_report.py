"""The report of one manual escalation: who asked, why, and what became of each account."""

from __future__ import annotations

from collections import Counter
from typing import Any

from outreach.ledger import Ledger

OUTCOME_ORDER = ["escalated", "would_escalate", "refused", "not_found"]


def build_escalation_report(ledger: Ledger, escalation_id: int) -> dict[str, Any]:
    request, accounts = ledger.escalation(escalation_id)
    steps = ledger.steps(request["business_date"], campaign=request["campaign"], run_id=request["run_id"])
    sends: dict[str, str] = {}
    for step in steps.to_dict("records"):
        state = step["status"] if not step["status_reason"] else f"{step['status']} ({step['status_reason']})"
        sends[step["account_id"]] = "; ".join(
            filter(None, [sends.get(step["account_id"]), f"{step['channel']}: {state}"])
        )
    return {
        "escalation_id": escalation_id,
        "run_id": request["run_id"],
        "requested_by": request["requested_by"],
        "requested_at": request["requested_at"].isoformat(),
        "business_date": request["business_date"].isoformat(),
        "campaign": request["campaign"],
        "target_stage": request["target_stage"],
        "selector": request["selector"],
        "reason": request["reason"],
        "dry_run": bool(request["dry_run"]),
        "outcomes": dict(Counter(accounts["outcome"])),
        "accounts": [
            {**row, "steps": sends.get(row["account_id"], "")}
            for row in accounts.drop(columns=["escalation_id"]).to_dict("records")
        ],
    }


def format_escalation(report: dict[str, Any]) -> str:
    mode = "DRY RUN: nothing was changed" if report["dry_run"] else "applied"
    outcomes = ", ".join(
        f"{report['outcomes'][name]} {name.replace('_', ' ')}" for name in OUTCOME_ORDER if name in report["outcomes"]
    )
    lines = [
        f"Manual escalation #{report['escalation_id']} ({mode})",
        f"  requested by {report['requested_by']} at {report['requested_at'][:16].replace('T', ' ')} UTC "
        f"for business date {report['business_date']}",
        f"  to {report['campaign']} / {report['target_stage']}; {report['selector']}",
        f"  reason: {report['reason']}",
        f"  outcome: {outcomes or 'no accounts matched'}",
        "",
        f"  {'account':<12} {'from':<18} {'outcome':<15} detail",
    ]
    for row in report["accounts"]:
        detail = row["detail"] if row["outcome"] != "escalated" or not row["steps"] else row["steps"]
        lines.append(f"  {row['account_id']:<12} {row['from_stage'] or '-':<18} {row['outcome']:<15} {detail}")
    return "\n".join(lines)
