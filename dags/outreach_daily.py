"""The daily outreach run: pull -> segment -> plan -> dispatch -> report.

Each task is one call into ``outreach.pipeline``; the tasks hand each other a
small reference (run id, business date, counts), never account data. The
business date is the run's logical date in the business timezone, so re-running
a past day plans that day again, and the ledger's step claims keep anyone from
being contacted twice.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

BUSINESS_TIMEZONE = os.environ.get("OUTREACH_TIMEZONE", "America/New_York")
SCHEDULE = os.environ.get("OUTREACH_DAILY_CRON", "0 9 * * *")


def _business_date() -> str:
    from zoneinfo import ZoneInfo

    logical_date = get_current_context()["logical_date"]
    return logical_date.astimezone(ZoneInfo(BUSINESS_TIMEZONE)).date().isoformat()


@dag(
    dag_id="outreach_daily",
    schedule=CronTriggerTimetable(SCHEDULE, timezone=BUSINESS_TIMEZONE),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["outreach", "collections"],
    default_args={
        "owner": "collections-ops",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
    },
    doc_md=__doc__,
)
def outreach_daily():
    @task
    def pull() -> dict:
        from datetime import date

        from airflow.sdk import BaseHook

        from outreach import pipeline

        context = get_current_context()
        return pipeline.pull(
            date.fromisoformat(_business_date()),
            context["run_id"],
            # A SQL source may name an Airflow connection instead of carrying credentials.
            resolve_connection=lambda conn_id: BaseHook.get_connection(conn_id).get_uri(),
        )

    @task
    def segment(ref: dict) -> dict:
        from outreach import pipeline

        return pipeline.segment(ref)

    @task
    def plan(ref: dict) -> dict:
        from outreach import pipeline

        return pipeline.plan(ref)

    @task(pool="outreach_providers")
    def dispatch(ref: dict) -> dict:
        from outreach_hooks import provider_environment

        from outreach import pipeline

        # With OUTREACH_CHANNELS=providers, credentials come from the twilio_default and
        # sendgrid_default Airflow connections.
        return pipeline.dispatch_due(ref, provider_env=provider_environment)

    @task
    def report(ref: dict) -> dict:
        from outreach import pipeline

        return pipeline.report(ref)

    report(dispatch(plan(segment(pull()))))


outreach_daily()
