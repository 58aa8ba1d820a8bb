"""The DAG that puts debtors' requests for another repayment plan in front of a person.

Every 30 minutes it takes the requests the self-service page recorded and opens one Required
Actions form per request (a mapped human-in-the-loop task). Each answer is recorded as it
comes: a plan set up pauses the ladder as a plan chosen on the page does; a decline stays in
the agent queue for a call; a form nobody answers goes back to wait for the next run.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param, dag, get_current_context, task

from outreach_dags.campaign import DEFAULT_ARGS, business_timezone

# A request's form waits this long for a person before it goes back to wait for the next run.
ANSWER_WITHIN = timedelta(hours=8)


def self_service_requests_dag():
    from outreach.plan_requests import LATER, OPTIONS

    @dag(
        dag_id="self_service_requests",
        description="Requests for another repayment plan from the self-service page, answered in Required Actions",
        schedule="*/30 * * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz=business_timezone()),
        catchup=False,
        # Each run takes only requests no other run took: overlapping runs never ask twice.
        max_active_runs=16,
        is_paused_upon_creation=False,
        tags=["outreach", "self-service"],
        default_args=DEFAULT_ARGS,
        doc_md=__doc__,
    )
    def build():
        @task
        def waiting_requests() -> list[dict]:
            from outreach import pipeline

            return pipeline.plan_requests_waiting()

        @task
        def forms(requests: list[dict]) -> list[dict]:
            return [{"subject": r["subject"], "body": r["body"]} for r in requests]

        requests = waiting_requests()
        answers = HITLOperator.partial(
            task_id="answer_plan_request",
            options=OPTIONS,
            defaults=[LATER],
            params={
                "reason": Param("", type="string", title="Reason", description="Why: kept with the answer"),
                # Optional fields say so with "null" in their type: the form requires every other field.
                "instalments": Param(None, type=["null", "integer"], title="Instalments", minimum=2, maximum=60),
                "first_due": Param(
                    None, type=["null", "string"], format="date", title="First due date", description="YYYY-MM-DD"
                ),
                "every_days": Param(30, type=["null", "integer"], title="Days between instalments", minimum=7),
            },
            response_timeout=ANSWER_WITHIN,
            retries=0,
        ).expand_kwargs(forms(requests))

        @task(trigger_rule="all_done")
        def record_answers(requests: list[dict]) -> dict:
            from outreach import pipeline

            ti = get_current_context()["ti"]
            responses = [ti.xcom_pull(task_ids="answer_plan_request", map_indexes=n) for n in range(len(requests))]
            return pipeline.record_plan_answers(requests, responses)

        answers >> record_answers(requests)

    return build()
