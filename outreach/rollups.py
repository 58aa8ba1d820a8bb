"""Daily rollups for the ops view: one business date of one campaign, per bucket, channel and variant.

Written by the campaign DAG's report task and refreshed by the events DAG, so
the ops view reads a few rows per day instead of scanning steps, attempts and
events: a year of a million-account book is a few thousand rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select

from outreach.ladder import FAILED_ATTEMPTS
from outreach.ledger import Ledger
from outreach.ledger.schema import (
    FUNNEL_COLUMNS,
    account_days,
    attempts,
    events,
    ladder_states,
    payments,
    planned_steps,
    promises,
    suppressions,
)
from outreach.planner import BusinessDay

FUNNEL = FUNNEL_COLUMNS
REACHED = frozenset({"delivered", "connected", "voicemail"})
FAILED = FAILED_ATTEMPTS | {"not_connected"}
OPT_OUT_REASONS = ("electronic_address_opt_out", "tcpa_revoked", "medium_opt_out")
PROMISE_CHANNELS = {"keypress": "voice", "agent": "agent_queue"}
KEY = ["bucket", "channel", "variant"]


def rollup_day(ledger: Ledger, campaign: str, day: BusinessDay) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(funnel rows per bucket/channel/variant, held steps per rule) of one campaign's business day."""
    with ledger.engine.connect() as conn:
        steps = pd.read_sql(
            select(
                planned_steps.c.step_key,
                planned_steps.c.account_id,
                planned_steps.c.channel,
                planned_steps.c.status,
                planned_steps.c.rule_ids,
                attempts.c.status.label("attempt"),
            )
            .outerjoin(attempts, attempts.c.step_key == planned_steps.c.step_key)
            .where(and_(planned_steps.c.business_date == day.date, planned_steps.c.campaign == campaign)),
            conn,
        )
        # A payment may come on a day with no snapshot (a weekend): the newest one says the bucket.
        as_of = conn.execute(
            select(func.max(account_days.c.business_date)).where(account_days.c.business_date <= day.date)
        ).scalar()
        accounts = pd.read_sql(
            select(account_days.c.account_id, account_days.c.bucket, ladder_states.c.variant)
            .outerjoin(ladder_states, ladder_states.c.account_id == account_days.c.account_id)
            .where(account_days.c.business_date == as_of),
            conn,
        )
        in_day = {"start": day.start, "end": day.end}
        replies = pd.read_sql(
            select(events.c.account_id, events.c.channel).where(
                and_(events.c.kind == "inbound", events.c.occurred_at >= in_day["start"]),
                events.c.occurred_at < in_day["end"],
            ),
            conn,
        )
        opt_outs = pd.read_sql(
            select(suppressions.c.account_id, suppressions.c.channel)
            .where(suppressions.c.reason.in_(OPT_OUT_REASONS))
            .where(suppressions.c.effective_at >= in_day["start"], suppressions.c.effective_at < in_day["end"]),
            conn,
        )
        promised = pd.read_sql(
            select(promises.c.account_id, promises.c.source).where(
                promises.c.recorded_at >= in_day["start"], promises.c.recorded_at < in_day["end"]
            ),
            conn,
        )
        paid = pd.read_sql(
            select(payments.c.account_id, payments.c.amount_minor, payments.c.credited_step_key).where(
                payments.c.paid_on == day.date
            ),
            conn,
        )

    # Payments count for the campaign whose contact they are credited to, on the day they came.
    credited = paid["credited_step_key"].fillna("").str.split("|").str[1] == campaign
    ours = set(steps["account_id"]) | set(paid.loc[credited, "account_id"])
    accounts = accounts.assign(variant=accounts["variant"].fillna("")).set_index("account_id")

    def counted(frame: pd.DataFrame, channel: pd.Series | str, **values: Any) -> pd.DataFrame:
        frame = frame[frame["account_id"].isin(ours)]
        if frame.empty:
            return pd.DataFrame(columns=[*KEY, *FUNNEL])
        out = frame.join(accounts, on="account_id")
        out["channel"] = channel if isinstance(channel, str) else channel.loc[out.index]
        for name in FUNNEL:
            out[name] = values.get(name, 0)
        return out[[*KEY, *FUNNEL]]

    parts = [
        counted(
            steps,
            steps["channel"],
            planned=1,
            held=(steps["status"] == "held").astype(int),
            waiting=((steps["status"] == "pending") & steps["attempt"].isna()).astype(int),
            expired=(steps["status"] == "expired").astype(int),
            sent=(steps["attempt"].notna() & ~steps["attempt"].isin(["claimed", "failed"])).astype(int),
            delivered=steps["attempt"].isin(REACHED).astype(int),
            failed=steps["attempt"].isin(FAILED).astype(int),
        ),
        counted(replies, replies["channel"].fillna("sms"), replied=1),
        counted(opt_outs.drop_duplicates("account_id"), opt_outs["channel"].fillna("sms"), opted_out=1),
        counted(promised, promised["source"].map(PROMISE_CHANNELS).fillna("none"), promised=1),
        counted(
            paid,
            paid["credited_step_key"].fillna("|||none|").str.split("|").str[3],
            paid=1,
            recovered_minor=paid["amount_minor"].where(paid["credited_step_key"].notna(), 0),
        ),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        funnel = pd.DataFrame(columns=[*KEY, *FUNNEL])
    else:
        funnel = pd.concat(parts, ignore_index=True)
        funnel["bucket"] = funnel["bucket"].fillna("unknown")
        funnel["variant"] = funnel["variant"].fillna("")
        funnel = funnel.groupby(KEY, as_index=False)[list(FUNNEL)].sum()
    held = steps[steps["status"].isin(["held", "expired"])]
    by_rule = (
        held["rule_ids"].fillna("").replace("", "unknown").str.split(",").str[0].value_counts().rename_axis("rule_id")
    )
    return funnel.astype({name: "int64" for name in FUNNEL}), by_rule.reset_index(name="steps")


def write_rollup(ledger: Ledger, campaign: str, day: BusinessDay) -> int:
    funnel, held = rollup_day(ledger, campaign, day)
    ledger.replace_rollup(day.date, campaign, funnel.to_dict("records"), held.to_dict("records"))
    return len(funnel)
