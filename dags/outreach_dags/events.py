"""The events DAG: runs as soon as the plugin records provider callbacks, replies or payments.

The plugin's endpoints update the ``outreach_events`` asset after each recording,
so Airflow schedules this DAG within seconds instead of waiting for tomorrow's
campaign run. It reacts to the new events (same-day fallback, opt-out
confirmation, keypress requests) and sends what they call for, wave by wave as
the debtors' contact windows open (a fallback planned at night goes when the
debtor's morning comes). Runs may overlap while one waits for a window; only one
at a time reacts, so no event is reacted to twice.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from outreach_dags.campaign import DEFAULT_ARGS, business_timezone
from outreach_dags.waves import DispatchWavesOperator, run_clock

# The asset the plugin updates (plugins/outreach_plugin.py names the same URI).
EVENTS_ASSET = Asset(name="outreach_events", uri="outreach://ledger/events")


def outreach_events_dag():
    @dag(
        dag_id="outreach_events",
        description="React to delivery failures, replies, keypresses and payments as they arrive",
        schedule=[EVENTS_ASSET],
        start_date=pendulum.datetime(2026, 1, 1, tz=business_timezone()),
        catchup=False,
        # Callbacks, replies and payments must be acted on from the start: this DAG is never left paused.
        is_paused_upon_creation=False,
        # A run waiting for a debtor's window must not hold up the reactions to newer events.
        max_active_runs=16,
        tags=["outreach", "events"],
        default_args={**DEFAULT_ARGS, "retry_delay": timedelta(seconds=30)},
        doc_md=__doc__,
    )
    def build():
        @task(max_active_tis_per_dag=1)
        def react() -> dict:
            from outreach import pipeline

            context = get_current_context()
            now = run_clock(context).now()
            return pipeline.react(f"outreach_events/{context['run_id']}", now=now)

        DispatchWavesOperator(task_id="dispatch", ref=react(), pool="outreach_providers")

    return build()
