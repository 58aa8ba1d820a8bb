"""Policy every DAG in dags/ must meet: it imports cleanly, cheaply, and says who owns it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

from tests.airflow_env import PROJECT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_every_dag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"campaign_m1_self_service", "campaign_m2_plus", "manual_escalation", "outreach_events"} <= set(dagbag.dags)


def test_the_events_dag_runs_when_the_plugin_updates_its_asset(dagbag):
    import outreach_plugin

    dag = dagbag.dags["outreach_events"]
    (asset,) = dag.timetable.asset_condition.objects
    assert asset.uri == outreach_plugin.EVENTS_ASSET_URI
    # A run waiting for a debtor's window must not hold up newer events; one reacts at a time.
    assert dag.max_active_runs > 1
    assert dag.is_paused_upon_creation is False, "replies and callbacks are acted on as soon as Airflow starts"
    assert dag.get_task("react").max_active_tis_per_dag == 1
    assert [t.task_id for t in dag.topological_sort()] == ["react", "dispatch"]


def test_each_days_dispatch_waits_for_the_windows_on_the_triggerer(dagbag):
    from outreach_dags.waves import DispatchWavesOperator

    for dag_id in ("campaign_m1_self_service", "campaign_m2_plus", "outreach_events"):
        dispatch = dagbag.dags[dag_id].get_task("dispatch")
        # A campaign's dispatch is mapped over the shards of the book: one task per shard.
        operator = getattr(dispatch, "operator_class", type(dispatch))
        assert issubclass(operator, DispatchWavesOperator), dag_id
        assert dispatch.pool == "outreach_providers"


def test_a_placement_approval_never_waits_past_its_business_day(dagbag):
    approve = dagbag.dags["campaign_m2_plus"].get_task("approve_placements")
    # m2_plus runs at 10:00 New York: an approval left unanswered lapses at midnight, before the next run.
    assert approve.response_timeout == timedelta(hours=14)


def test_every_dag_has_tags_an_owner_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id} has no owner"
            if task.task_id not in ("approve_placements", "answer_plan_request"):  # a person answers once
                assert task.retries >= 1, f"{dag_id}.{task.task_id} is never retried"


def test_each_campaign_runs_on_its_own_schedule_and_timezone_without_catchup(dagbag):
    m1, m2 = dagbag.dags["campaign_m1_self_service"], dagbag.dags["campaign_m2_plus"]
    assert (m1.timetable.expression, str(m1.timetable.timezone)) == ("0 9 * * 1-6", "America/New_York")
    assert str(m1.timezone) == "America/New_York", "the UI shows the campaign's times in its own timezone"
    assert m2.timetable.expression == "0 10 * * 1-6"
    for dag in (m1, m2):
        assert dag.catchup is False and dag.max_active_runs == 1
    order = [t.task_id for t in m1.topological_sort()]
    assert order[:4] == ["pull", "segment", "shards", "plan"] and order[-1] == "report"
    assert set(order[4:6]) == {"day_planned", "dispatch"}


def test_a_campaigns_plan_and_dispatch_are_one_task_per_shard_of_the_book(dagbag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    for dag_id in ("campaign_m1_self_service", "campaign_m2_plus"):
        dag = dagbag.dags[dag_id]
        for task_id in ("plan", "dispatch"):
            task = dag.get_task(task_id)
            assert isinstance(task, MappedOperator), f"{dag_id}.{task_id} is not mapped over shards"
            assert task.upstream_task_ids >= ({"shards"} if task_id == "plan" else {"plan"})
        assert dag.get_task("day_planned").upstream_task_ids == {"plan"}


def test_placements_wait_for_a_person_in_required_actions(dagbag):
    from airflow.providers.standard.operators.hitl import HITLOperator

    dag = dagbag.dags["campaign_m2_plus"]
    approve = dag.get_task("approve_placements")
    assert isinstance(approve, HITLOperator)
    assert approve.options == ["Approve", "Reject", "Decide next run"]
    assert approve.defaults == ["Decide next run"], "no answer in time lets the request lapse, it never approves"
    assert set(approve.params) == {"reason", "exclude", "exclude_reason"}
    # Airflow's forms require every field whose type does not allow null: only the reason is required.
    required = {name for name in approve.params if "null" not in approve.params.get_param(name).schema["type"]}
    assert required == {"reason"}
    assert dag.get_task("record_approval").trigger_rule == "all_done"
    assert "approve_placements" in dag.get_task("placements_waiting").downstream_task_ids


def test_each_plan_request_gets_a_required_action_form_of_its_own(dagbag):
    from airflow.providers.standard.operators.hitl import HITLOperator

    dag = dagbag.dags["self_service_requests"]
    answer = dag.get_task("answer_plan_request")
    assert answer.operator_class is HITLOperator or issubclass(answer.operator_class, HITLOperator)
    assert answer.partial_kwargs["options"] == ["Set up this plan", "Decline", "Decide later"]
    assert answer.partial_kwargs["defaults"] == ["Decide later"], "no answer in time never sets up a plan"
    params = answer.params
    required = {name for name in params if "null" not in params.get_param(name).schema["type"]}
    assert required == {"reason"}
    assert dag.get_task("record_answers").trigger_rule == "all_done"
    assert dag.max_active_runs > 1 and not dag.catchup


def test_manual_escalation_is_trigger_only_with_a_typed_form_that_defaults_to_a_dry_run(dagbag):
    from airflow.sdk.definitions.param import ParamValidationError

    dag = dagbag.dags["manual_escalation"]
    assert type(dag.timetable).__name__ == "NullTimetable" and set(dag.allowed_run_types) == {"manual"}
    params = dag.params
    assert params["dry_run"] is True, "nothing changes unless the person unticks dry run"
    assert params.get_param("target_stage").value == "m2_plus/agent-callback"
    assert "m2_plus/legal-review" in params.get_param("target_stage").schema["enum"]
    assert params.get_param("segment").schema["enum"][0] is None
    required = {name for name in params if "null" not in params.get_param(name).schema["type"]}
    assert required == {"target_stage", "reason", "dry_run"}, "ids, segment and date may each be left empty"
    assert "high-balance-60-plus" in params.get_param("segment").schema["enum"]
    assert params.get_param("reason").schema["minLength"] == 10
    with pytest.raises(ParamValidationError):
        params.get_param("reason").resolve("ok")
    assert [t.task_id for t in dag.topological_sort()] == ["escalate", "dispatch", "report"]
    assert dag.get_task("dispatch").pool == "outreach_providers"


def test_a_broken_campaign_file_is_that_dags_import_error_and_the_others_still_load(tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    campaigns = tmp_path / "campaigns"
    shutil.copytree(PROJECT / "campaigns", campaigns)
    text = (campaigns / "m2_plus.yaml").read_text().replace("wait_days: 4", "wait_days: soon")
    (campaigns / "m2_plus.yaml").write_text(text)
    os.environ["OUTREACH_CAMPAIGNS_DIR"] = str(campaigns)
    try:
        bag = DagBag(dag_folder=str(PROJECT / "dags"))
    finally:
        del os.environ["OUTREACH_CAMPAIGNS_DIR"]
    assert "campaign_m1_self_service" in bag.dags and "campaign_m2_plus" not in bag.dags
    escalation_targets = bag.dags["manual_escalation"].params.get_param("target_stage").schema["enum"]
    assert escalation_targets and all(t.startswith("m1_self_service/") for t in escalation_targets)
    (path, error), *_ = bag.import_errors.items()
    assert path.endswith("campaign_m2_plus.py") and len(bag.import_errors) == 1
    assert "m2_plus.yaml:" in error and "ladder.1.wait_days" in error


@pytest.mark.parametrize("dag_file", ["campaign_m2_plus.py", "manual_escalation.py", "outreach_events.py"])
def test_parsing_a_dag_file_reads_only_yaml(dag_file):
    """Importing a DAG file loads no pandas, no providers' SDKs, and touches no ledger."""
    probe = textwrap.dedent(
        f"""
        import runpy, sys, os
        sys.path.insert(0, {str(PROJECT / "dags")!r})
        runpy.run_path({str(PROJECT / "dags" / dag_file)!r})
        heavy = sorted(m for m in ("pandas", "numpy", "phonenumbers", "twilio", "sendgrid")
                       if m in sys.modules)
        print("HEAVY", heavy)
        print("LEDGER", os.path.exists(os.path.join(os.environ["OUTREACH_HOME"], "ledger.db")))
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert "LEDGER False" in result.stdout
