"""One Airflow DAG per campaign file: pull -> segment -> plan -> approve placements -> dispatch -> report.

The plan and the dispatch are mapped over the shards of the book (``outreach.shards``): one of each
by default, and with ``OUTREACH_SHARDS=N`` N of each, which a Celery or Kubernetes executor runs on
N workers at once.

The dispatch task follows the day's contact windows: it sends what is due, waits on the
triggerer until the next window opens, and goes on until the business day is done
(``outreach_dags.waves``). The DAG keeps the campaign's timezone, so the UI shows its
schedule in local time.

Parsing reads and validates the campaign's YAML and nothing else (no pandas, no
ledger): a broken file raises here, so it shows as that DAG's import error in
the Airflow UI and leaves the other campaigns running. Every task is one call
into ``outreach.pipeline``; tasks hand each other a small reference, never rows.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from outreach_dags.waves import DispatchWavesOperator

DEFAULT_ARGS = {
    "owner": "collections-ops",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
}
APPROVAL_OPTIONS = ["Approve", "Reject", "Decide next run"]


def business_timezone() -> str:
    """The deployment's business timezone: the DAGs that are not a campaign's show their times in it."""
    return os.environ.get("OUTREACH_TIMEZONE") or "America/New_York"


def campaigns_dir() -> Path:
    configured = os.environ.get("OUTREACH_CAMPAIGNS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "campaigns"


def campaign_dag(campaign_id: str):
    from outreach.campaigns import load_campaign

    campaign = load_campaign(campaigns_dir() / f"{campaign_id}.yaml")
    has_placements = any(stage.needs_approval for stages in campaign.ladders().values() for stage in stages)

    @dag(
        dag_id=campaign.dag_id,
        description=campaign.name,
        schedule=CronTriggerTimetable(campaign.schedule, timezone=campaign.timezone),
        start_date=pendulum.datetime(2026, 1, 1, tz=campaign.timezone),
        catchup=False,
        max_active_runs=1,
        tags=["outreach", "campaign", *campaign.bucket_names],
        default_args=DEFAULT_ARGS,
        doc_md=f"## {campaign.name}\n\n{campaign.description}\n\n"
        + "\n".join(f"{n}. `{s.id}`: {' + '.join(s.channels)}" for n, s in enumerate(campaign.ladder, 1))
        + f"\n\nFrom `campaigns/{campaign.id}.yaml`. Pause this DAG to pause the campaign.",
    )
    def build():
        @task
        def pull() -> dict:
            from datetime import date
            from zoneinfo import ZoneInfo

            from airflow.sdk import BaseHook

            from outreach import pipeline

            context = get_current_context()
            business_date = context["logical_date"].astimezone(ZoneInfo(campaign.timezone)).date()
            return pipeline.pull(
                date.fromisoformat(business_date.isoformat()),
                f"{campaign.dag_id}/{context['run_id']}",
                resolve_connection=lambda conn_id: BaseHook.get_connection(conn_id).get_uri(),
            )

        @task
        def segment(ref: dict) -> dict:
            from outreach import pipeline
            from outreach.accounts.staging import StagedAccountsGone, StagedAccountsOutdated

            try:
                return pipeline.segment(ref)
            except (StagedAccountsGone, StagedAccountsOutdated) as exc:
                # Retrying cannot bring the file back, or make it current; the message says what can.
                raise AirflowFailException(str(exc)) from exc

        @task
        def shards(ref: dict) -> list[dict]:
            from outreach import pipeline

            return pipeline.shard_refs(ref)

        # One plan and one dispatch per shard of the book (OUTREACH_SHARDS): the executor runs them on any worker.
        @task(map_index_template="{{ shard_label }}")
        def plan(ref: dict) -> dict:
            from outreach import pipeline
            from outreach.shards import Shard

            get_current_context()["shard_label"] = str(Shard.of(ref))
            return pipeline.plan(ref, campaign.id)

        @task
        def day_planned(refs: list[dict]) -> dict:
            from outreach import pipeline

            return pipeline.day_planned(list(refs))

        # The report is written whatever the dispatch did: a stopped dispatch is in it, and fails it too,
        # so the run ends red (Airflow judges a run by its last tasks).
        @task(trigger_rule="all_done")
        def report() -> dict:
            from outreach import pipeline
            from outreach.waves import DispatchStopped

            ref = get_current_context()["ti"].xcom_pull(task_ids="day_planned")
            if not ref:
                raise AirflowFailException("no report: the run failed before its plan was made (see the red task)")
            try:
                return pipeline.report(ref)
            except DispatchStopped as exc:
                raise AirflowFailException(str(exc)) from exc

        shard_plans = plan.expand(ref=shards(segment(pull())))
        planned = day_planned(shard_plans)
        dispatch = DispatchWavesOperator.partial(
            task_id="dispatch", pool="outreach_providers", map_index_template="{{ shard_label }}"
        ).expand(ref=shard_plans)
        reported = report()
        [planned, dispatch] >> reported
        if not has_placements:
            return

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def placements_waiting(ref: dict) -> bool:
            from outreach import pipeline

            request = pipeline.approval_request(ref)
            get_current_context()["ti"].xcom_push(key="request", value=request)
            return request["count"] > 0

        approve = HITLOperator(
            task_id="approve_placements",
            subject="{{ ti.xcom_pull(task_ids='placements_waiting', key='request')['subject'] }}",
            body="{{ ti.xcom_pull(task_ids='placements_waiting', key='request')['body'] }}",
            options=APPROVAL_OPTIONS,
            defaults=["Decide next run"],
            params={
                "reason": Param("", type="string", title="Reason", description="Why: kept with the decision"),
                # Optional fields say so with "null" in their type: the form requires every other field.
                "exclude": Param(
                    None,
                    type=["null", "string"],
                    title="Exclude",
                    description="Account ids to leave out of this decision, separated by commas or spaces. "
                    "They keep waiting for the next decision.",
                ),
                "exclude_reason": Param(
                    None,
                    type=["null", "string"],
                    title="Why kept back",
                    description="Why the excluded accounts are left out: kept on each of them",
                ),
            },
            response_timeout=campaign.approval_wait(),
            retries=0,
        )

        @task(trigger_rule="all_done")
        def record_approval(ref: dict) -> dict:
            from outreach import pipeline

            response = get_current_context()["ti"].xcom_pull(task_ids="approve_placements")
            return pipeline.apply_approval(ref, response)

        recorded = record_approval(planned)
        placements_waiting(planned) >> approve >> recorded
        recorded >> reported

    return build()
