"""The manual escalation DAG: ops move chosen accounts up their ladder from the Airflow trigger form.

The form's choices (target stages, saved segments) come from the campaign and
segment YAML files at parse time; nothing heavier is read. The run's
triggering user is recorded with the reason on every account it names.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from outreach_dags.campaign import DEFAULT_ARGS, business_timezone, campaigns_dir
from outreach_dags.waves import run_clock

DAG_ID = "manual_escalation"


def segments_file() -> Path:
    configured = os.environ.get("OUTREACH_SEGMENTS_FILE")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "segments.yaml"


def manual_escalation_dag():
    from outreach.campaigns import loadable_campaigns
    from outreach.escalation_request import MIN_REASON_LENGTH, target_choices
    from outreach.saved_segments import load_segments

    campaigns = loadable_campaigns(campaigns_dir())
    targets = target_choices(campaigns)
    # The usual request is "have a person call": preselect the first agent-queue stage.
    handing_to_agents = [f"{c.id}/{s.id}" for c in campaigns for s in c.ladder if s.channel == "agent_queue"]
    segments = load_segments(segments_file())

    @dag(
        dag_id=DAG_ID,
        description="Escalate chosen accounts to a later stage of their ladder, by hand",
        schedule=None,
        allowed_run_types=["manual"],
        start_date=pendulum.datetime(2026, 1, 1, tz=business_timezone()),
        catchup=False,
        tags=["outreach", "escalation"],
        default_args=DEFAULT_ARGS,
        params={
            "target_stage": Param(
                handing_to_agents[0] if handing_to_agents else next(iter(targets)),
                type="string",
                enum=list(targets),
                values_display=targets,
                title="Target stage",
                description="The ladder stage the accounts move to. Escalation only moves forward.",
            ),
            # Optional fields say so with "null" in their type: the trigger form requires every other field.
            "account_ids": Param(
                None,
                type=["null", "string"],
                title="Account ids",
                description="Separated by commas, spaces or new lines. Leave empty to use a saved segment.",
                format="multiline",
            ),
            "segment": Param(
                None,
                type=["null", "string"],
                enum=[None, *segments],
                # The form shows an empty choice by the key "null".
                values_display={"null": "(none: use the account ids)"}
                | {name: f"{name}: {segment.description}" for name, segment in segments.items()},
                title="Saved segment",
                description="Named filters kept in segments.yaml. Leave empty to use the account ids.",
            ),
            "business_date": Param(
                None,
                type=["null", "string"],
                format="date",
                title="Business date",
                description="The day whose accounts and ladder positions are used. Leave empty for the latest "
                "day the campaigns have pulled; the report says which day was used.",
            ),
            "reason": Param(
                "",
                type="string",
                minLength=MIN_REASON_LENGTH,
                title="Reason",
                description="Why, in words a compliance officer can read later. Kept on every account.",
            ),
            "dry_run": Param(
                True,
                type="boolean",
                title="Dry run",
                description="Report what would happen and change nothing. Untick to escalate.",
            ),
        },
        doc_md=__doc__,
    )
    def build():
        @task
        def escalate() -> dict:
            from airflow.sdk.exceptions import AirflowFailException

            from outreach import pipeline
            from outreach.escalation_request import EscalationError

            context = get_current_context()
            now = run_clock(context).now()
            try:
                return pipeline.escalate(
                    dict(context["params"]),
                    context["dag_run"].triggering_user_name,
                    f"{DAG_ID}/{context['run_id']}",
                    now=now,
                )
            except EscalationError as exc:
                # A bad request is not fixed by waiting: fail now, with every problem listed.
                raise AirflowFailException(f"the escalation request cannot be carried out:\n{exc}") from exc

        @task(pool="outreach_providers")
        def dispatch(ref: dict) -> dict:
            from outreach_hooks import provider_environment

            from outreach import pipeline

            if ref["dry_run"] or not ref["outcomes"].get("escalated"):
                return ref
            context = get_current_context()
            now = run_clock(context).now()
            return pipeline.dispatch_due(ref, provider_env=provider_environment, now=now)

        @task
        def report(ref: dict) -> dict:
            from outreach import pipeline

            return pipeline.escalation_report(ref)

        report(dispatch(escalate()))

    return build()
