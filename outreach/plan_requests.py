"""Requests for a repayment plan the campaign does not offer, answered by a person in Required Actions.

The self-service page sends such a request to the agent queue with an answer-by date. The
``self_service_requests`` DAG takes each open request and asks a person in Airflow's Required
Actions, one form per request: *Set up this plan* (instalments, first due date, days between)
records a plan the ladder keeps exactly as a plan chosen on the page; *Decline* leaves the
request in the agent queue with the reason, for an agent to call the debtor; an unanswered
form goes back to wait for the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outreach.campaigns import Campaign
    from outreach.ledger import Ledger

SET_UP = "Set up this plan"
DECLINE = "Decline"
LATER = "Decide later"
OPTIONS = [SET_UP, DECLINE, LATER]
# One Required Actions form per request; more wait for the next run.
REQUESTS_PER_RUN = 50
AGENT = "agent"


def take_requests(ledger: Ledger, campaigns: Mapping[str, Campaign]) -> list[dict[str, Any]]:
    """The open plan requests, each taken for this run, with the form a person answers (subject, body)."""
    # Imported here: the DAG file reads only this module's option names when it is parsed.
    from outreach.messages import format_amount

    forms = []
    for request in ledger.take_plan_requests(REQUESTS_PER_RUN):
        account = ledger.latest_account(request["account_id"]) or {}
        campaign = campaigns.get(request["campaign"] or "")
        currency = str(account.get("currency") or "USD")
        balance = int(account.get("balance_due_minor") or 0)
        offered = (
            ", ".join(
                f"{plan.instalments} x every {plan.every_days} days (at least {plan.minimum_instalment} each)"
                for plan in campaign.self_service.plans
            )
            if campaign
            else "none"
        )
        asked = (request["detail"] or {}).get("text", "")
        body = "\n".join(
            [
                f"**{request['reference']}**, asked on the self-service page on {request['created_at']:%Y-%m-%d}; "
                f"answer by **{request['respond_by']}**.",
                "",
                "| account | owes | days past due | campaign |",
                "|---|---|---|---|",
                f"| {request['account_id']} | {format_amount(balance, currency)} | {account.get('dpd', '?')} "
                f"| {request['campaign']} |",
                "",
                f"The debtor wrote: *{asked}*",
                "",
                f"The campaign offers: {offered}.",
                "",
                f"**{SET_UP}**: give the number of instalments, the first due date and the days between; the"
                f" balance is split evenly. **{DECLINE}**: say why; the request stays in the agent queue for a"
                " call to the debtor.",
            ]
        )
        forms.append(
            {
                "subject": f"Repayment plan asked for: {request['reference']} (answer by {request['respond_by']})",
                "body": body,
                "reference": request["reference"],
                "handoff_id": int(request["handoff_id"]),
                "account_id": request["account_id"],
            }
        )
    return forms


def record_answer(ledger: Ledger, request: Mapping[str, Any], response: Mapping[str, Any] | None) -> str:
    """Apply a person's answer to one request; what happened: ``set_up``, ``declined`` or ``waiting``."""
    from outreach.ledger.ladder_records import instalments_to_json
    from outreach.messages import format_amount
    from outreach.repayment_plans import instalment_schedule

    response = response or {}
    chosen = list(response.get("chosen_options") or [LATER])
    params = dict(response.get("params_input") or {})
    user = response.get("responded_by_user")
    who = (user.get("name") or user.get("id")) if isinstance(user, Mapping) else user
    at = response.get("responded_at") or datetime.now(UTC)
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    reason = " ".join(str(params.get("reason") or "").split())
    reference = request["reference"]
    if who is None or chosen == [LATER] or not reason:
        why = (
            "nobody answered in time" if who is None else (f"left for later by {who}" if reason else "no reason given")
        )
        ledger.settle_plan_request(request["handoff_id"], "open", None, at, f"{why}; asked again next run")
        return "waiting"
    if chosen == [DECLINE]:
        note = f"plan declined by {who}: {reason}; call the debtor with the answer"
        ledger.settle_plan_request(request["handoff_id"], "open", who, at, note)
        return "declined"
    account = ledger.latest_account(request["account_id"]) or {}
    balance, currency = int(account.get("balance_due_minor") or 0), str(account.get("currency") or "USD")
    try:
        count, every = int(params.get("instalments")), int(params.get("every_days") or 30)
        first_due = date.fromisoformat(str(params.get("first_due")))
        schedule = instalment_schedule(balance, count, first_due, every)
    except (TypeError, ValueError) as exc:
        note = f"{who} chose to set up a plan, but the form cannot make one ({exc}); asked again next run"
        ledger.settle_plan_request(request["handoff_id"], "open", None, at, note)
        return "waiting"
    promise = {
        "account_id": request["account_id"],
        "promised_on": schedule[-1].due_on,
        "amount_minor": balance,
        "currency": currency,
        "source": AGENT,
        "recorded_by": who,
        "recorded_at": at,
        "note": f"plan request {reference}: {reason}",
        "instalments": instalments_to_json(schedule),
    }
    first = schedule[0]
    plan = f"{count} instalments, the first of {format_amount(first.amount_minor, currency)} due {first.due_on}"
    ledger.settle_plan_request(
        request["handoff_id"],
        "done",
        who,
        at,
        f"plan set up by {who}: {plan}; {reason}",
        promise=promise,
        hold_reason=f"repayment plan {reference} set up by {who}: {plan}",
    )
    return "set_up"
