"""The dispatch task of a day: one wave now, then a wait on the triggerer until the next window opens.

Between waves the task is *deferred*: it holds no worker slot and no pool slot, and the
Airflow UI shows it as deferred with its log listing every wave so far, what is waiting and
until when. Pausing the DAG stops the waves: a wave whose instant comes while the DAG is
paused is not run until it is unpaused, and then it re-asks the policy (or, if the
business day is over by then, sends nothing and expires what waited, saying why).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException


def run_clock(context, started_at: datetime | None = None):
    """The run's clock: the wall clock, or a replay of the run's logical day (OUTREACH_CLOCK=logical)
    that started at the wall-clock instant ``started_at`` (default: now)."""
    from outreach.clock import RunClock

    return RunClock.from_env(os.environ, context.get("logical_date"), started_at)


class DispatchWavesOperator(BaseOperator):
    """Sends a run's steps wave by wave as their contact windows open, until its business day is done.

    ``ref`` is the upstream task's run reference (a campaign run, an escalation or a reaction run).
    """

    template_fields = ("ref",)
    ui_color = "#e8f4ea"

    def __init__(self, *, ref: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.ref = ref

    def execute(self, context: Any) -> dict:
        return self.execute_wave(context)

    def execute_wave(self, context: Any, event: Any = None) -> dict:
        from outreach_hooks import provider_environment

        from outreach import pipeline
        from outreach.preflight import UnsafeDeployment
        from outreach.shards import Shard
        from outreach.waves import DispatchStopped

        # The mapped task's name in the UI ("shard 1 of 2"), when it is mapped over shards.
        context["shard_label"] = str(Shard.of(self.ref))

        while True:
            # Where the day stands comes from the ledger: a retry or a resumed wave carries on from the last one.
            cue = pipeline.next_wave(self.ref)
            clock = run_clock(context, cue.first_started_at)
            if cue.due_at is not None and not clock.is_due(cue.due_at):
                self.log.info(
                    "wave %d is due at %s; deferring to the triggerer until then (no worker slot held)",
                    cue.number,
                    f"{cue.due_at:%Y-%m-%d %H:%M} UTC",
                )
                # Only a future instant is waited for: a trigger that fires at once can resume the task
                # before the executor has reported its deferral, and the scheduler then fails it.
                self.defer(trigger=DateTimeTrigger(moment=clock.wake_at(cue.due_at)), method_name="execute_wave")
            try:
                ref = pipeline.dispatch_wave(
                    self.ref,
                    clock.now(at_least=cue.due_at),
                    wave=cue.number,
                    due_at=cue.due_at,
                    provider_env=provider_environment,
                )
            except (DispatchStopped, UnsafeDeployment) as exc:
                # A retry would fail the same way: red now, for a person; clearing the task carries on.
                raise AirflowFailException(str(exc)) from exc
            if ref["next_wave_at"] is None:
                self.log.info("wave %d was the day's last: nothing waiting can still go today", cue.number)
                return ref
            self.log.info(
                "wave %d done; %d step(s) waiting for the next window, which opens at %s",
                cue.number,
                ref["waiting"],
                f"{datetime.fromisoformat(ref['next_wave_at']):%Y-%m-%d %H:%M} UTC",
            )
