"""The run report: what was planned, sent, held back and why, read back from the ledger."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from outreach.buckets import configured_buckets
from outreach.ledger import Ledger
from outreach.ledger.ladder_records import ladder_frames
from outreach.masking import mask_address
from outreach.policy import default_rules
from outreach.reconcile import FOR_A_PERSON

CHANNEL_ORDER = ["sms", "email", "voice", "agent_queue"]


def build_report(ledger: Ledger, run_id: str, campaign: str | None = None) -> dict[str, Any]:
    run = ledger.run(run_id)
    business_date: date = run["business_date"]
    steps = ledger.step_counts(business_date, campaign)
    attempts = ledger.attempt_counts(business_date, run_id, campaign)
    this_run = attempts[attempts["this_run"]]

    held = steps[steps["status"] == "held"]
    held_by_rule: Counter[str] = Counter()
    for rule_ids, count in zip(held["rule_ids"], held["count"], strict=True):
        held_by_rule[(rule_ids or "unknown").split(",")[0]] += int(count)

    def count_by(frame: pd.DataFrame, column: str) -> dict[str, int]:
        totals = frame.groupby(column)["count"].sum().sort_values(ascending=False, kind="stable")
        return {str(k): int(v) for k, v in totals.items() if v}

    def total(frame: pd.DataFrame) -> int:
        return int(frame["count"].sum())

    return {
        "run_id": run_id,
        "business_date": business_date.isoformat(),
        "source": run["source"],
        "rows_read": run["rows_read"] or 0,
        "accepted": run["accepted"] or 0,
        "quarantined": run["quarantined"] or 0,
        "quarantined_by_reason": ledger.quarantine_counts(run_id),
        "accounts_by_bucket": ledger.bucket_counts(business_date),
        "left_outreach": ledger.left_outreach_counts(business_date),
        "rolls": ledger.roll_counts(business_date),
        "planned_by_channel": count_by(steps, "channel"),
        "sent_by_channel": count_by(this_run[this_run["status"] == "sent"], "channel"),
        "failed_by_channel": count_by(this_run[this_run["status"] == "failed"], "channel"),
        "already_sent_earlier": total(attempts[~attempts["this_run"]]),
        "sms_segments": int(this_run.loc[this_run["status"] != "failed", "segments"].sum()),
        "outcome_unknown": total(attempts[attempts["status"].isin(["claimed", "unknown"])]),
        "unknown_for_a_person": total(attempts[attempts["error_code"] == FOR_A_PERSON]),
        "held_by_rule": dict(held_by_rule.most_common()),
        "waiting": total(steps[steps["status"] == "pending"]),
        "expired": total(steps[steps["status"] == "expired"]),
        "steps_by_status": count_by(steps, "status"),
        "waves": wave_rows(ledger, business_date, campaign),
        "late_opt_outs": late_opt_out_rows(ledger, business_date),
        "calls_without_recording": unrecorded_call_rows(ledger, business_date),
        **(ladder_report(ledger, campaign, business_date) if campaign else {}),
    }


# A late opt-out stays in the daily report this many days, so the next ones still show it.
LATE_OPT_OUT_DAYS = 30


def unrecorded_call_rows(ledger: Ledger, business_date: date) -> list[dict[str, Any]]:
    """Calls of the last 30 days that a rule required recorded and that have no recording on file."""
    calls = ledger.calls_without_recording(business_date - timedelta(days=LATE_OPT_OUT_DAYS - 1), business_date)
    return [
        {
            "account_id": row["account_id"],
            "step_key": row["step_key"],
            "called_at": f"{row['claimed_at']:%Y-%m-%d %H:%M} UTC",
            "outcome": row["status"],
            "keep_days": int(row["recording_days"]),
        }
        for row in calls.to_dict("records")
    ]


def late_opt_out_rows(ledger: Ledger, business_date: date) -> list[dict[str, Any]]:
    """The opt-outs that missed their legal deadline in the 30 days up to the business date, masked."""
    end = datetime.combine(business_date + timedelta(days=1), time(0), UTC)
    late = ledger.late_opt_outs(end - timedelta(days=LATE_OPT_OUT_DAYS), end)
    return [
        {
            "reason": row["reason"],
            "channel": row["channel"],
            "address": mask_address(row["channel"] or "sms", row["address"]) if row["address"] else None,
            "given_at": f"{row['effective_at']:%Y-%m-%d %H:%M} UTC",
            "honour_by": f"{row['honour_by']:%Y-%m-%d %H:%M} UTC",
            "late_at": f"{row['late_at']:%Y-%m-%d %H:%M} UTC",
            "how": row["how"],
        }
        for row in late.to_dict("records")
    ]


def wave_rows(ledger: Ledger, business_date: date, campaign: str | None) -> list[dict[str, Any]]:
    if campaign is None:
        return []
    waves = ledger.waves(business_date, campaign)
    return [
        {
            **{k: (None if pd.isna(v) else v) for k, v in row.items() if k not in ("id", "business_date")},
            "at": row["at"].isoformat(),
            "started_at": row["started_at"].isoformat(),
            "next_wave_at": row["next_wave_at"].isoformat() if pd.notna(row["next_wave_at"]) else None,
        }
        for row in waves.to_dict("records")
    ]


# One definition of "contacted" for the report and the Collections page, stated on both.
CONTACT_RATE_DEFINITION = (
    "accounts reached by at least one text, email or call that did not fail, bounce or go undelivered, "
    "of the accounts on the arm's ladder"
)
PAYMENT_RATE_DEFINITION = "accounts that paid (or kept a promise) since their episode began, of the same accounts"


def ladder_report(ledger: Ledger, campaign: str, business_date: date) -> dict[str, Any]:
    """Where the campaign's accounts stand, the work waiting for people, and each variant's results."""
    positions, contacted, paid = ladder_frames(ledger.engine, campaign)
    handoffs = ledger.handoffs(campaign=campaign)
    live = positions[~positions["status"].isin(["ended"])]
    stages = {f"{stage} ({status})": int(n) for (stage, status), n in live.groupby(["stage", "status"]).size().items()}
    work = {f"{kind} {status}": int(n) for (kind, status), n in handoffs.groupby(["kind", "status"]).size().items()}
    variants: dict[str, dict[str, Any]] = {}
    if not positions.empty and (positions["variant"] != "").any():
        contacted_ids = set(contacted["account_id"])
        payers = paid.merge(positions[["account_id", "episode_started_on"]], on="account_id")
        payer_ids = set(
            payers.loc[pd.to_datetime(payers["paid_on"]) >= pd.to_datetime(payers["episode_started_on"]), "account_id"]
        ) | set(positions.loc[positions["status_reason"].str.contains("paid|kept|current", regex=True), "account_id"])
        for variant, group in positions.groupby("variant"):
            ids = set(group["account_id"])
            variants[str(variant)] = {
                "accounts": len(ids),
                "contacted": len(ids & contacted_ids),
                "paid": len(ids & payer_ids),
                "contact_rate": round(len(ids & contacted_ids) / len(ids), 4) if ids else 0.0,
                "payment_rate": round(len(ids & payer_ids) / len(ids), 4) if ids else 0.0,
            }
    return {"campaign": campaign, "ladder_positions": stages, "handoffs": work, "variants": variants}


def _ordered(counts: dict[str, int], order: list[str]) -> list[tuple[str, int]]:
    known = [(k, counts[k]) for k in order if k in counts]
    return known + sorted((k, v) for k, v in counts.items() if k not in order)


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"Outreach run report - business date {report['business_date']} (run {report['run_id']})",
        "",
        f"Source: {report['source']}",
        f"  rows read {report['rows_read']:,}, accepted {report['accepted']:,}, quarantined {report['quarantined']:,}",
    ]
    stopped = [wave["stopped"] for wave in report.get("waves", []) if wave.get("stopped")]
    if stopped:
        lines[1:1] = ["", "THE DISPATCH STOPPED, and nothing more goes until a person acts:"]
        lines[3:3] = [f"  {reason}" for reason in stopped]
    late = report.get("late_opt_outs") or []
    if late:
        lines += ["", f"OPT-OUTS NOT HONOURED BY THEIR LEGAL DEADLINE (last {LATE_OPT_OUT_DAYS} days): {len(late)}"]
        lines += [
            f"  {o['reason']} {o['channel'] or 'all channels'} {o['address'] or '-'}: given {o['given_at']}, "
            f"due by {o['honour_by']}; {o['how']} ({o['late_at']})"
            for o in late
        ]
    unrecorded = report.get("calls_without_recording") or []
    if unrecorded:
        lines += [
            "",
            f"CALLS THAT MUST BE RECORDED AND HAVE NO RECORDING (last {LATE_OPT_OUT_DAYS} days): {len(unrecorded)}",
        ]
        lines += [
            f"  {c['account_id']} {c['called_at']} ({c['outcome']}); to be kept {c['keep_days']} days: {c['step_key']}"
            for c in unrecorded
        ]
    if report["rows_read"] == 0:
        lines.append("  the source was empty: no overdue accounts for this business date")
    for reason, count in sorted(report["quarantined_by_reason"].items()):
        lines.append(f"    quarantined {count:>5,}  {reason}")
    lines += ["", "Accounts by bucket:"]
    lines += [
        f"  {bucket:<8} {count:>7,}"
        for bucket, count in _ordered(
            report["accounts_by_bucket"], [b.name for b in configured_buckets()] + ["current"]
        )
    ]
    rolls = report["rolls"]
    if rolls:
        lines.append("  since the previous business date: " + ", ".join(f"{k} {v:,}" for k, v in sorted(rolls.items())))
    left = report["left_outreach"]
    lines.append(f"  left outreach today: current {left.get('current', 0):,}, paid in full {left.get('paid', 0):,}")

    lines += ["", f"{'Steps by channel':<18} {'planned':>8} {'sent':>8} {'failed':>8}"]
    planned = report["planned_by_channel"]
    for channel, count in _ordered(planned, CHANNEL_ORDER):
        lines.append(
            f"  {channel:<16} {count:>8,} {report['sent_by_channel'].get(channel, 0):>8,}"
            f" {report['failed_by_channel'].get(channel, 0):>8,}"
        )
    total_sent = sum(report["sent_by_channel"].values())
    total_failed = sum(report["failed_by_channel"].values())
    lines.append(f"  {'total':<16} {sum(planned.values()):>8,} {total_sent:>8,} {total_failed:>8,}")

    if report["sms_segments"]:
        lines.append(f"  SMS segments sent: {report['sms_segments']:,}")
    if report["outcome_unknown"]:
        lines.append(
            f"  outcome unknown: {report['outcome_unknown']:,} step(s) may have reached the provider; they are "
            "settled from provider callbacks or a lookup, and never re-sent blindly"
        )
    if report.get("unknown_for_a_person"):
        lines.append(
            f"  needs a person: {report['unknown_for_a_person']:,} interrupted send(s) the provider cannot "
            "confirm or deny; check them before anyone is contacted again (outreach explain)"
        )
    if report["already_sent_earlier"]:
        lines += [
            "",
            f"Not sent again: {report['already_sent_earlier']:,} step(s) were already dispatched by an earlier run "
            "of this business date (each step is claimed once in the ledger).",
        ]
    rules = default_rules()
    lines += ["", "Held back (no contact), by rule:"]
    if not report["held_by_rule"]:
        lines.append("  none")
    for rule_id, count in report["held_by_rule"].items():
        summary = rules[rule_id].summary if rule_id in rules else ""
        lines.append(f"  {count:>7,}  {rule_id:<34} {summary}")
    lines += [
        "",
        f"Waiting for the debtor's contact hours later today: {report['waiting']:,}",
        f"Not possible today (window closed, cap reached, day to avoid): {report['expired']:,}",
    ]
    lines += format_accounting(report)
    lines += format_policy_questions(report)
    if report.get("waves"):
        lines += ["", "The day's waves (each sends what is due as the debtors' contact windows open):"]
        for wave in report["waves"]:
            upcoming = f"next at {wave['next_wave_at'][11:16]} UTC" if wave["next_wave_at"] else "the day is done"
            if wave.get("shards"):
                upcoming += f"  (shard {int(wave['shard']) + 1} of {int(wave['shards'])})"
            lines.append(
                f"  {wave['at'][:16].replace('T', ' ')} UTC  sent {wave['sent']:>6,}  failed {wave['failed']:>4,}"
                f"  held {wave['held']:>4,}  expired {wave['expired']:>4,}  waiting {wave['waiting']:>6,}  {upcoming}"
            )
            if wave.get("note"):
                lines.append(f"    {wave['note']}")
            if wave.get("stopped"):
                lines.append(f"    {wave['stopped']}")
    if report.get("campaign"):
        lines += format_ladder(report)
    return "\n".join(lines)


def format_accounting(report: dict[str, Any]) -> list[str]:
    """Every planned step is somewhere: held, sent, failed, waiting or expired (and unknown until settled)."""
    statuses = dict(report.get("steps_by_status") or {})
    planned = sum(statuses.values())
    if not planned:
        return []
    named = ["held", "sent", "failed", "pending", "expired"]
    parts = [f"{statuses.pop(name, 0):,} {'waiting' if name == 'pending' else name}" for name in named]
    parts += [f"{count:,} {name}" for name, count in sorted(statuses.items())]
    return ["", f"Planned steps: {planned:,} = " + " + ".join(parts)]


def format_policy_questions(report: dict[str, Any]) -> list[str]:
    """How the plan's policy decisions were made: once for a class of alike steps, or one by one."""
    asked = report.get("policy_decisions")
    if not asked:
        return []
    return [
        f"  policy decisions: {asked['by_class']:,} shared by {asked['classes']:,} class(es) of alike steps, "
        f"{asked['one_by_one']:,} asked one by one (a contact, reply, number check or suppression on file)"
    ]


def format_ladder(report: dict[str, Any]) -> list[str]:
    lines = ["", f"Ladder of {report['campaign']}: accounts by stage"]
    lines += [f"  {count:>7,}  {name}" for name, count in sorted(report["ladder_positions"].items())] or ["  none"]
    lines += ["", "Work for people (hand-offs by status):"]
    lines += [f"  {count:>7,}  {name}" for name, count in sorted(report["handoffs"].items())] or ["  none"]
    if report["variants"]:
        lines += ["", f"  {'variant':<16} {'accounts':>9} {'contacted':>10} {'rate':>7} {'paid':>7} {'rate':>7}"]
        for name, v in report["variants"].items():
            lines.append(
                f"  {name:<16} {v['accounts']:>9,} {v['contacted']:>10,} {v['contact_rate']:>7.1%}"
                f" {v['paid']:>7,} {v['payment_rate']:>7.1%}"
            )
        lines += [f"  contacted: {CONTACT_RATE_DEFINITION}", f"  paid: {PAYMENT_RATE_DEFINITION}"]
    return lines
