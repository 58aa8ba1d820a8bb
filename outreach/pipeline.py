"""The daily run's steps, each one call from a DAG task: pull, segment, plan, dispatch, report.

Steps hand each other a small reference (run id, business date, counts); the
rows themselves live in the ledger and in the run's Parquet file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from outreach import escalation, handoffs, reactions
from outreach.accounts import SourceSpec, file_spec, load_spec, read_source
from outreach.accounts.phone_prefixes import load_prefixes, save_prefixes
from outreach.accounts.phones import PhoneNormaliser
from outreach.accounts.staging import (
    STAGED_NAME,
    StagedAccountsGone,
    read_staged,
    remove_staged_before,
    write_staged,
)
from outreach.agencies import load_agencies
from outreach.arrow_memory import arrow_pool_problem
from outreach.buckets import segment_table
from outreach.campaigns import Campaign, load_campaign, loadable_campaigns
from outreach.channels.reassigned_numbers import ReassignedNumbers
from outreach.dispatcher import AccountsOnDay, channels_for, dispatch
from outreach.escalation_report import build_escalation_report, format_escalation
from outreach.escalation_request import EscalationError, EscalationRequest, parse_request
from outreach.handoffs import HandoffChannel
from outreach.ladder import History
from outreach.ledger import Ledger
from outreach.masking import mask_row
from outreach.messages import renderer_for
from outreach.number_checks import check_reassigned_numbers
from outreach.planner import BusinessDay, plan_day
from outreach.policy import RuleSet, load_rules
from outreach.policy.configuration import check_deployment
from outreach.reconcile import reconcile_unconfirmed
from outreach.report import build_report, format_report
from outreach.rollups import write_rollup
from outreach.saved_segments import load_segments
from outreach.settings import Settings
from outreach.shards import Shard, account_hash, all_shards
from outreach.template_checks import require_clean_templates
from outreach.waves import (
    DispatchStopped,
    FailureAlarm,
    WaveScope,
    closing_reason,
    day_over_reason,
    late_note,
    wave_totals,
)

log = logging.getLogger(__name__)

RunRef = dict[str, Any]
# Ladders reach back through a whole delinquency episode; a year covers the longest.
HISTORY_DAYS = 366


# Ledgers brought to this code's schema, by URL: one engine (and connection pool) per process, not one
# per call, and the schema checked once. A handful of the latest are kept (tests use many ledgers).
_LEDGERS: OrderedDict[str, Ledger] = OrderedDict()
_LEDGERS_KEPT = 4
_LEDGERS_LOCK = threading.Lock()


def ledger_for(settings: Settings) -> Ledger:
    with _LEDGERS_LOCK:
        ledger = _LEDGERS.get(settings.ledger_url)
        if ledger is not None:
            _LEDGERS.move_to_end(settings.ledger_url)
            return ledger
        ledger = Ledger.from_url(settings.ledger_url)
        ledger.create_schema()
        _LEDGERS[settings.ledger_url] = ledger
        while len(_LEDGERS) > _LEDGERS_KEPT:
            _, oldest = _LEDGERS.popitem(last=False)
            # Its pooled connections are closed; a caller still holding it opens new ones.
            oldest.dispose()
        return ledger


def make_run_id(business_date: date, orchestrator_run_id: str) -> str:
    digest = hashlib.sha256(orchestrator_run_id.encode()).hexdigest()[:10]
    return f"{business_date.isoformat()}-{digest}"


T = TypeVar("T")


@contextmanager
def _read_beside(ledger: Ledger, read: Callable[..., T], *args: Any) -> Iterator[Callable[[], T]]:
    """``read(*args)`` from the ledger while the caller works, its result given when the caller asks for
    it. On PostgreSQL it is read on a thread of its own, in the database's core; an embedded SQLite has no
    core to read beside and is read when asked (in-memory, another thread would find it empty)."""
    if ledger.dialect != "postgresql":
        yield partial(read, *args)
        return
    with ThreadPoolExecutor(max_workers=1) as beside:
        yield beside.submit(read, *args).result


def source_for(settings: Settings, source: Path | None = None) -> SourceSpec:
    if source is not None:
        return file_spec(source)
    if settings.source_spec is not None:
        return load_spec(settings.source_spec)
    return file_spec(settings.accounts_file)


def pull(
    business_date: date,
    orchestrator_run_id: str,
    settings: Settings | None = None,
    source: Path | None = None,
    resolve_connection: Callable[[str], str] | None = None,
) -> RunRef:
    """Read, map and validate the day's source; quarantine bad rows; stage good rows as Parquet."""
    settings = settings or Settings.from_env()
    spec = source_for(settings, source)
    ledger = ledger_for(settings)
    run_id = make_run_id(business_date, orchestrator_run_id)
    pool_problem = arrow_pool_problem()
    if pool_problem:
        log.warning(pool_problem)
    # Read everything before writing anything: a source that fails leaves no half-written run.
    known_prefixes = load_prefixes(settings.cache_dir)
    phones = PhoneNormaliser(known_prefixes)
    # Which rows' contact details are as they were last checked comes from the ledger while the source is read.
    with _read_beside(ledger, ledger.contact_sources, business_date) as checked_before:
        result = read_source(spec, business_date, resolve_connection, phones=phones, checked_before=checked_before)
    save_prefixes(settings.cache_dir, phones.known_prefixes(), remembered=known_prefixes)

    run_dir = settings.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    accounts_path = run_dir / STAGED_NAME
    write_staged(result.table, accounts_path)
    removed = remove_staged_before(settings.runs_dir, settings.staged_days, keep=run_dir)
    if removed:
        log.info("removed %d staged account files older than %d days", len(removed), settings.staged_days)

    described = spec.describe(business_date)
    ledger.start_run(run_id, orchestrator_run_id, business_date, described)
    ledger.replace_quarantine(
        run_id,
        business_date,
        [
            {"source": q.source, "line": q.line, "field": q.field, "reason": q.reason, "raw": mask_row(q.raw or {})}
            for q in result.quarantined
        ],
    )
    ledger.update_run(
        run_id, rows_read=result.rows_read, accepted=result.table.num_rows, quarantined=len(result.quarantined)
    )
    for row in result.quarantined[:50]:
        log.warning("quarantined %s line %d: %s %s", row.source, row.line, row.field, row.reason)
    if result.rows_read == 0:
        log.warning("source %s is empty: no accounts for %s", described, business_date)
    contacts_checked = result.contacts_checked
    log.info(
        "pulled %d rows from %s: %d accepted, %d quarantined; contact details checked on %d accepted rows, the "
        "others given as their contact version was made from",
        result.rows_read,
        described,
        result.table.num_rows,
        len(result.quarantined),
        contacts_checked,
    )
    return {
        "run_id": run_id,
        "business_date": business_date.isoformat(),
        "accounts_path": str(accounts_path),
        "accepted": result.table.num_rows,
        "quarantined": len(result.quarantined),
        "contacts_checked": contacts_checked,
    }


def segment(ref: RunRef, settings: Settings | None = None) -> RunRef:
    """Days past due, bucket and roll for every accepted account; keep the day's snapshot."""
    settings = settings or Settings.from_env()
    ledger = ledger_for(settings)
    business_date = date.fromisoformat(ref["business_date"])
    staged = Path(ref["accounts_path"])
    if not staged.exists():
        raise StagedAccountsGone(
            f"run {ref['run_id']}: its staged accounts ({staged}) are gone; a pull's are kept "
            f"{settings.staged_days} days (OUTREACH_STAGED_DAYS). Run the pull again to stage them anew: it "
            f"reads the source as it is now, so only where the source still holds the book of {business_date}"
        )
    # The last day's buckets come from the database's core while the accepted accounts come from disk.
    with _read_beside(ledger, ledger.latest_buckets_before, business_date) as previous:
        accounts = read_staged(staged)
        previous_buckets = previous()
    if not accounts.num_rows:
        ledger.clear_snapshot(business_date)
        return {**ref, "buckets": {}}
    segmented = segment_table(accounts, business_date, previous_buckets)
    segmented = segmented.append_column("run_id", pa.array([ref["run_id"]] * segmented.num_rows, pa.string()))
    segmented = segmented.append_column("business_date", pa.array([business_date] * segmented.num_rows, pa.date32()))
    ledger.replace_snapshot(business_date, segmented)
    counts = _counts(segmented.column("bucket"))
    log.info("segmented %d accounts: %s; rolls %s", segmented.num_rows, counts, _counts(segmented.column("roll")))
    return {**ref, "buckets": counts}


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    return {str(item["values"]): int(item["counts"]) for item in pc.value_counts(column).to_pylist()}


def business_day(business_date: date, timezone: str) -> BusinessDay:
    zone = ZoneInfo(timezone)
    start = datetime.combine(business_date, time(0), zone).astimezone(UTC)
    end = datetime.combine(business_date + timedelta(days=1), time(0), zone).astimezone(UTC)
    return BusinessDay(business_date, start, end)


def rules_for(settings: Settings) -> RuleSet:
    return load_rules(str(settings.policy_settings) if settings.policy_settings else None)


def campaign_named(campaign_id: str, settings: Settings) -> Campaign:
    return load_campaign(settings.campaigns_dir / f"{campaign_id}.yaml")


def plan(ref: RunRef, campaign_id: str, settings: Settings | None = None) -> RunRef:
    """Move each account of the campaign along its ladder and plan the day's steps, stored with reasons."""
    settings = settings or Settings.from_env()
    campaign = campaign_named(campaign_id, settings)
    check_deployment(settings.collector_type, settings.sms_provider, campaign.channels())
    require_clean_templates()
    rules = rules_for(settings)
    ledger = ledger_for(settings)
    day = business_day(date.fromisoformat(ref["business_date"]), campaign.timezone)
    shard = Shard.of(ref)
    rounds = shard.rounds(ledger.account_count(day.date, shard), settings.plan_round_accounts)
    checker = ReassignedNumbers.from_env()
    if checker is not None:
        # Before any round is planned: each round reads the answers about every number it holds.
        for part in rounds:
            snapshot = ledger.snapshot(day.date, shard=part)
            check_reassigned_numbers(ledger, snapshot, day.date, checker, datetime.now(UTC))
    # The plan is made as of the start of the business day: what happened before it counts, and so do
    # the number checks just made for it. One read of the week (many reads by account take several
    # times longer), each round keeping its accounts' events and the answers about numbers.
    events = ledger.contact_events(day.start - timedelta(days=8), shard=shard)
    if not events.empty:
        events = events[(events["at"] < day.start) | (events["kind"] == "number_check")]
    event_hashes = events["account_id"].map(account_hash, na_action="ignore") if not events.empty else None
    suppressions = ledger.active_suppressions(day.start)
    planned_at = datetime.now(UTC)
    steps, approvals, moves, dispatched_already = 0, 0, 0, 0
    counts: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    for part in rounds:
        snapshot = ledger.snapshot(
            day.date, shard=part, parties=campaign.parties(), campaign=campaign.id, buckets=campaign.bucket_names
        )
        histories = ledger.histories(campaign.id, day.date - timedelta(days=HISTORY_DAYS), day.date, part)
        add_reported_payments(histories, snapshot, day.date)
        of_round = events
        if event_hashes is not None and not part.whole:
            of_round = events[(events["kind"] == "number_check") | (event_hashes % part.count == part.index)]
        result = plan_day(
            snapshot,
            campaign,
            ledger.positions(shard=part),
            histories,
            of_round,
            suppressions,
            day,
            ref["run_id"],
            planned_at,
            rules,
        )
        # Each round is saved whole before the next is read: a plan that stops part way is planned
        # again from the start, and a round planned twice is the same round (the step keys match).
        dispatched = ledger.save_plan(day.date, result.steps, result.audit, campaign=campaign.id, shard=part)
        ledger.save_positions(result.changed_positions)
        ledger.positions_seen(sorted(result.seen_again), day.date)
        ledger.add_handoffs(result.handoffs)
        ledger.settle_promises(result.promises)
        steps += len(result.steps)
        approvals += len(result.handoffs)
        moves += len(result.moves) - len(result.seen_again)
        dispatched_already += len(dispatched)
        counts.update(s["decision"] for s in result.steps if s["step_key"] not in dispatched)
        asked.update(result.decided)
        del snapshot, histories, result
    ledger.update_run(ref["run_id"], campaign=campaign.id)
    log.info(
        "%s (%s, in %d round(s)): planned %d steps (%s), %d placement(s) for approval, %d ladder move(s); "
        "%d of them dispatched already; policy decisions %s",
        campaign.id,
        shard,
        len(rounds),
        steps,
        dict(counts),
        approvals,
        moves,
        dispatched_already,
        dict(asked),
    )
    return {
        **ref,
        "campaign": campaign.id,
        "planned": steps,
        "decisions": dict(counts),
        "approvals_requested": approvals,
        "policy_decisions": dict(asked),
        "rounds": len(rounds),
    }


def shard_refs(ref: RunRef, settings: Settings | None = None) -> list[RunRef]:
    """The day's reference once per shard of the book (``OUTREACH_SHARDS``): each is planned and dispatched
    by a task of its own."""
    settings = settings or Settings.from_env()
    return [{**ref, "shard": shard.as_ref()} for shard in all_shards(settings.shards)]


def day_planned(refs: list[RunRef]) -> RunRef:
    """The campaign's day once every shard is planned: their counts added up, for approvals and the report."""
    if not refs:
        raise ValueError("no shard of the day was planned")
    decisions: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    for ref in refs:
        decisions.update(ref["decisions"])
        asked.update(ref.get("policy_decisions") or {})
    merged = {key: value for key, value in refs[0].items() if key != "shard"}
    return {
        **merged,
        "planned": sum(ref["planned"] for ref in refs),
        "decisions": dict(decisions),
        "approvals_requested": sum(ref["approvals_requested"] for ref in refs),
        # Shards decide apart: a class met in two shards is counted in each.
        "policy_decisions": dict(asked),
        "shards": len(refs),
        "rounds": sum(ref.get("rounds", 1) for ref in refs),
    }


def add_reported_payments(histories: dict[str, History], snapshot: pd.DataFrame, today: date) -> None:
    """Payments the source reports (last payment date and amount) count like recorded ones."""
    if snapshot.empty or "last_payment_date" not in snapshot:
        return
    paid = snapshot[snapshot["last_payment_date"].notna()]
    for account_id, paid_on, amount in zip(
        paid["account_id"], paid["last_payment_date"], paid["last_payment_amount_minor"], strict=True
    ):
        day = pd.Timestamp(paid_on).date()
        if day > today:
            continue
        history = histories.setdefault(account_id, History())
        entry = (day, int(amount) if amount == amount and amount is not None else 0)
        if entry not in history.payments:
            history.payments = [*history.payments, entry]


def approval_request(ref: RunRef, settings: Settings | None = None) -> dict[str, Any]:
    """The placements of this campaign waiting for a person, for the Required Actions form."""
    settings = settings or Settings.from_env()
    return handoffs.approval_request(
        ledger_for(settings),
        ref["campaign"],
        date.fromisoformat(ref["business_date"]),
        load_agencies(settings.agencies_file),
        settings.handoffs_dir,
    )


def apply_approval(ref: RunRef, response: dict[str, Any] | None, settings: Settings | None = None) -> RunRef:
    """Record a person's answer on the pending placements and write the placement files."""
    settings = settings or Settings.from_env()
    counts = handoffs.record_approval(
        ledger_for(settings),
        ref["campaign"],
        response,
        date.fromisoformat(ref["business_date"]),
        settings.handoffs_dir,
        load_agencies(settings.agencies_file),
    )
    return {**ref, "approvals": counts}


def plan_requests_waiting(settings: Settings | None = None) -> list[dict[str, Any]]:
    """The open requests for another repayment plan, each taken for this run, with its form."""
    from outreach.plan_requests import take_requests

    settings = settings or Settings.from_env()
    campaigns = {c.id: c for c in loadable_campaigns(settings.campaigns_dir)}
    return take_requests(ledger_for(settings), campaigns)


def record_plan_answers(
    requests: list[dict[str, Any]], responses: list[dict[str, Any] | None], settings: Settings | None = None
) -> dict[str, int]:
    """Apply each person's answer (in the order of ``requests``); the count of each outcome."""
    from outreach.plan_requests import record_answer

    ledger = ledger_for(settings or Settings.from_env())
    outcomes = Counter(
        record_answer(ledger, request, response) for request, response in zip(requests, responses, strict=True)
    )
    return dict(outcomes)


def dispatch_due(
    ref: RunRef,
    settings: Settings | None = None,
    channel_set: str | None = None,
    now: datetime | None = None,
    provider_env: Callable[[], dict[str, str]] | None = None,
) -> RunRef:
    """Send every step whose contact window is open now (an escalation's own steps only, for one).

    ``provider_env`` supplies provider credentials (from Airflow connections in the DAG);
    without it they come from the environment.
    """
    settings = settings or Settings.from_env()
    ledger = ledger_for(settings)
    kind = channel_set or settings.channel_set
    campaign = campaign_named(ref["campaign"], settings) if ref.get("campaign") else None
    timezone = campaign.timezone if campaign else settings.timezone
    day = business_day(date.fromisoformat(ref["business_date"]), timezone)
    credentials = provider_env() if provider_env is not None and kind == "providers" else None
    if campaign is not None:
        # The campaign's sender identities take the place of the deployment's defaults.
        credentials = {**(credentials if credentials is not None else os.environ), **campaign.senders.environment()}
    shard = Shard.of(ref)
    # The shards of a day send side by side: each keeps to its share of the providers' rates.
    channels = channels_for(kind, settings.outbox_dir, day.date, credentials, rate_share=1 / shard.count)
    # Read a round of steps' accounts at a time, by the dispatcher and the hand-off channels alike.
    accounts = AccountsOnDay(ledger, day.date)
    for name in ("agent_queue", "letter"):
        channels[name] = HandoffChannel(name, ledger, settings.handoffs_dir, ref["run_id"], accounts)
    ledger.sync_step_status(day.date)
    sms = channels.get("sms")
    settled = reconcile_unconfirmed(
        # Claim ages are wall-clock facts, whatever instant the policy is asked about.
        ledger,
        getattr(sms, "find_sent", None),
        datetime.now(UTC),
        timedelta(seconds=settings.reconcile_after),
    )
    if any(settled.values()):
        log.warning("interrupted sends settled: %s", settled)
    summary = dispatch(
        ledger,
        day,
        ref["run_id"],
        channels,
        renderer_for(settings.home),
        now=now,
        rules=rules_for(settings),
        max_sms_segments=settings.max_sms_segments,
        campaign=campaign.id if campaign else None,
        only_this_run=bool(ref.get("only_this_run")),
        lease=timedelta(seconds=settings.claim_lease),
        retry_after=timedelta(minutes=settings.transient_retry_minutes),
        accounts=accounts,
        shard=shard,
    )
    log.info("dispatch: %s", summary.as_dict())
    return {**ref, "dispatch": summary.as_dict()}


def wave_scopes(ref: RunRef, settings: Settings) -> list[WaveScope]:
    """The campaign days a run's waves look at: its campaign's day, or each campaign a reaction run planned for."""
    only = ref["run_id"] if ref.get("only_this_run") else None
    if ref.get("campaigns") is not None:
        days = dict(ref["campaigns"])
    elif ref.get("campaign"):
        days = {ref["campaign"]: ref["business_date"]}
    else:
        raise ValueError("a dispatch wave needs the campaign it sends for")
    return [
        WaveScope(campaign_id, date.fromisoformat(business_date), campaign_named(campaign_id, settings).timezone, only)
        for campaign_id, business_date in sorted(days.items())
    ]


@dataclass(frozen=True)
class WaveCue:
    """Where a run's day stands: the next wave's number, the instant it is due (None: now), and the
    wall-clock instant the first wave went (None: it has not)."""

    number: int
    due_at: datetime | None
    first_started_at: datetime | None


def next_wave(ref: RunRef, settings: Settings | None = None) -> WaveCue:
    """The run's next wave, from the ledger.

    The ledger, not the task's memory, says where the day stands: a task retried or a
    worker killed between waves carries on from the last wave recorded.
    """
    waves = ledger_for(settings or Settings.from_env()).waves(run_id=ref["run_id"], shard=Shard.of(ref))
    if waves.empty:
        return WaveCue(1, None, None)
    last = waves[waves["wave"] == waves["wave"].max()]
    upcoming = last["next_wave_at"].dropna()
    return WaveCue(
        int(last["wave"].iloc[0]) + 1,
        upcoming.min().to_pydatetime() if not upcoming.empty else None,
        waves["started_at"].min().to_pydatetime(),
    )


def dispatch_wave(
    ref: RunRef,
    now: datetime,
    wave: int = 1,
    due_at: datetime | None = None,
    settings: Settings | None = None,
    channel_set: str | None = None,
    provider_env: Callable[[], dict[str, str]] | None = None,
) -> RunRef:
    """One wave of a run's day: send what is due at ``now`` and say when the next wave is due.

    ``next_wave_at`` (ISO, UTC) is the earliest instant a waiting step's window opens before its
    business day ends; when there is none, the day is closed and what still waits expires with
    its reason. A wave at or after the end of the business day sends nothing. ``due_at`` is the
    instant the wave was meant for, so a wave held up (a paused campaign) says so.
    """
    settings = settings or Settings.from_env()
    ledger = ledger_for(settings)
    shard = Shard.of(ref)
    now = now.astimezone(UTC)
    following: list[datetime] = []
    recorded = []
    for scope in wave_scopes(ref, settings):
        day = business_day(scope.business_date, scope.timezone)
        started = datetime.now(UTC)
        scope_ref = {**ref, "campaign": scope.campaign, "business_date": scope.business_date.isoformat()}
        summary: dict[str, Any] = {"due": 0, "sent": 0, "failed": 0, "held_at_send": 0, "expired": 0}
        next_at, waiting, stopped = None, 0, None
        if now >= day.end:
            reason = day_over_reason(scope, day.end, now, due_at)
            summary["expired"] = ledger.expire_unsent(
                day.date, scope.campaign, scope.run_id, reason, now, ref["run_id"], shard
            )
        else:
            summary = dispatch_due(scope_ref, settings, channel_set=channel_set, now=now, provider_env=provider_env)[
                "dispatch"
            ]
            alarm = FailureAlarm(settings.max_failure_share, settings.failure_alarm_min_sends)
            # Sends the provider did not take for now wait for a later wave, but they count to the alarm.
            tried_and_failed = summary["failed"] + summary.get("requeued", 0)
            stopped = alarm.reason(summary["sent"], tried_and_failed, summary.get("failed_by_code", {}))
            next_at, waiting = ledger.next_window_opening(day.date, now, day.end, scope.campaign, scope.run_id, shard)
            if next_at is None:
                summary["expired"] += ledger.expire_unsent(
                    day.date, scope.campaign, scope.run_id, closing_reason(scope, day.end), now, ref["run_id"], shard
                )
        row = {
            "run_id": ref["run_id"],
            "campaign": scope.campaign,
            "business_date": day.date,
            "wave": wave,
            "at": now,
            "started_at": started,
            "due": summary["due"],
            "sent": summary["sent"],
            "failed": summary["failed"],
            "held": summary["held_at_send"],
            "expired": summary["expired"],
            "waiting": waiting,
            "next_wave_at": next_at,
            "note": late_note(scope, now, due_at),
            "stopped": stopped,
            "shard": None if shard.whole else shard.index,
            "shards": None if shard.whole else shard.count,
        }
        ledger.record_wave(row)
        recorded.append(row)
        if ref.get("campaigns") is None:
            # The ops view shows a running day as it goes: what went, what waits, what expired.
            write_rollup(ledger, scope.campaign, day)
        if next_at is not None:
            following.append(next_at)
        log.info(
            "%s wave %d at %s: %d sent, %d failed, %d held, %d expired; %d waiting%s",
            scope.campaign,
            wave,
            f"{now:%Y-%m-%d %H:%M} UTC",
            row["sent"],
            row["failed"],
            row["held"],
            row["expired"],
            waiting,
            f", next wave at {next_at:%H:%M} UTC" if next_at else "; the day is done",
        )
    if ref.get("campaigns") is not None:
        refresh_rollups(ref.get("rollups") or ref["campaigns"], settings)
    alarms = [f"{row['campaign']} wave {wave}: {row['stopped']}" for row in recorded if row["stopped"]]
    if alarms:
        log.error("the dispatch stops, everything recorded: %s", "; ".join(alarms))
        raise DispatchStopped("; ".join(alarms))
    next_wave = min(following) if following else None
    return {
        **ref,
        "wave": wave,
        "dispatch": wave_totals(recorded),
        "waiting": sum(row["waiting"] for row in recorded),
        "next_wave_at": next_wave.isoformat() if next_wave else None,
    }


def report(ref: RunRef, settings: Settings | None = None) -> RunRef:
    """Write the run report (text and JSON) and log it."""
    settings = settings or Settings.from_env()
    ledger = ledger_for(settings)
    ledger.update_run(ref["run_id"], finished_at=datetime.now(UTC))
    data = build_report(ledger, ref["run_id"], ref.get("campaign"))
    if ref.get("policy_decisions"):
        data["policy_decisions"] = ref["policy_decisions"]
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    name = f"{ref['business_date']}-{ref['campaign']}" if ref.get("campaign") else ref["business_date"]
    text_path = settings.reports_dir / f"{name}.txt"
    text_path.write_text(format_report(data) + "\n", encoding="utf-8")
    if ref.get("campaign"):
        campaign = campaign_named(ref["campaign"], settings)
        write_rollup(ledger, campaign.id, business_day(date.fromisoformat(ref["business_date"]), campaign.timezone))
    (settings.reports_dir / f"{name}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    log.info("run report written to %s\n%s", text_path, format_report(data))
    stopped = [w["stopped"] for w in data.get("waves", []) if w.get("stopped") and w["run_id"] == ref["run_id"]]
    if stopped:
        # The run ends red where ops look, with the report written first.
        raise DispatchStopped(f"the report is written to {text_path}; the dispatch stopped: {'; '.join(stopped)}")
    return {**ref, "report_path": str(text_path)}


def escalate(
    params: dict[str, Any],
    requested_by: str | None,
    orchestrator_run_id: str,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> RunRef:
    """Move the requested accounts to the target stage (or, on a dry run, say what would happen).

    Raises ``EscalationError`` naming each bad field; a run re-tried after it was recorded
    returns the recorded escalation instead of escalating twice.
    """
    settings = settings or Settings.from_env()
    campaigns = {c.id: c for c in loadable_campaigns(settings.campaigns_dir)}
    segments = load_segments(settings.segments_file)
    request = parse_request(params, requested_by, campaigns, segments)
    campaign = campaigns[request.campaign]
    now = now or datetime.now(UTC)
    ledger = ledger_for(settings)
    day = business_day(escalation_date(ledger, request, campaign, now), campaign.timezone)
    run_id = make_run_id(day.date, orchestrator_run_id)
    recorded = ledger.escalation_by_run(run_id)
    if recorded is not None:
        log.warning("escalation %s was recorded by an earlier try of this run; not escalating again", recorded)
        return escalation_ref(ledger, recorded)
    snapshot = ledger.snapshot(day.date)
    histories = ledger.histories(campaign.id, day.date - timedelta(days=HISTORY_DAYS), day.date)
    add_reported_payments(histories, snapshot, day.date)
    result = escalation.escalate(
        request,
        campaign,
        snapshot,
        ledger.positions(),
        histories,
        ledger.contact_events(now - timedelta(days=8)),
        ledger.active_suppressions(now),
        segments.get(request.segment) if request.segment else None,
        day,
        run_id,
        now,
        rules_for(settings),
    )
    if not request.dry_run:
        ledger.add_steps(result.plan.steps, result.plan.audit)
        ledger.supersede_steps(
            day.date,
            campaign.id,
            result.moved,
            keep={s["step_key"] for s in result.plan.steps},
            reason=f"superseded: escalated by {request.requested_by} to {request.stage}",
        )
        ledger.save_positions(result.positions)
        ledger.add_handoffs(result.plan.handoffs)
    escalation_id = ledger.record_escalation(
        {
            "run_id": run_id,
            "requested_by": request.requested_by,
            "requested_at": now,
            "business_date": day.date,
            "campaign": campaign.id,
            "target_stage": request.stage,
            "selector": request.selector,
            "reason": request.reason,
            "dry_run": request.dry_run,
        },
        [o.as_row() for o in result.outcomes],
    )
    log.info(
        "escalation %d by %s to %s/%s (%s): %s",
        escalation_id,
        request.requested_by,
        campaign.id,
        request.stage,
        "dry run" if request.dry_run else "applied",
        result.counts,
    )
    return escalation_ref(ledger, escalation_id)


def escalation_date(ledger: Ledger, request: EscalationRequest, campaign: Campaign, now: datetime) -> date:
    """The business date the request names, else the latest one whose accounts were pulled.

    The form's default is the latest pulled day, not the calendar's: before the morning's pull
    (or on a replayed book) today has no accounts, and an escalation acts on what the ledger knows.
    """
    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    latest = ledger.latest_business_date(today)
    if request.business_date is None:
        if latest is None:
            raise EscalationError(
                f"business_date: no accounts pulled yet; escalate after {campaign.dag_id} has pulled a day"
            )
        return latest
    if request.business_date > today:
        raise EscalationError(f"business_date: {request.business_date} is after today ({today} in {campaign.timezone})")
    if ledger.latest_business_date(request.business_date) != request.business_date:
        raise EscalationError(
            f"business_date: no accounts for {request.business_date}; "
            + (f"the latest pulled day is {latest}" if latest else f"{campaign.dag_id} has pulled no day yet")
        )
    return request.business_date


def escalation_ref(ledger: Ledger, escalation_id: int) -> RunRef:
    request, accounts = ledger.escalation(escalation_id)
    return {
        "run_id": request["run_id"],
        "business_date": request["business_date"].isoformat(),
        "campaign": request["campaign"],
        "escalation_id": escalation_id,
        "only_this_run": True,
        "dry_run": bool(request["dry_run"]),
        "outcomes": {str(k): int(v) for k, v in accounts["outcome"].value_counts().items()},
    }


def escalation_report(ref: RunRef, settings: Settings | None = None) -> RunRef:
    """Write the escalation's report (text and JSON) and log it."""
    settings = settings or Settings.from_env()
    data = build_escalation_report(ledger_for(settings), ref["escalation_id"])
    folder = settings.reports_dir / "escalations"
    folder.mkdir(parents=True, exist_ok=True)
    text_path = folder / f"{data['business_date']}-{data['escalation_id']}.txt"
    text_path.write_text(format_escalation(data) + "\n", encoding="utf-8")
    (folder / f"{data['business_date']}-{data['escalation_id']}.json").write_text(
        json.dumps(data, indent=2, default=str), encoding="utf-8"
    )
    log.info("escalation report written to %s\n%s", text_path, format_escalation(data))
    return {**ref, "report_path": str(text_path)}


def react(orchestrator_run_id: str, settings: Settings | None = None, now: datetime | None = None) -> RunRef:
    """Plan what the new events call for (same-day fallback, opt-out confirmation, keypress requests)."""
    settings = settings or Settings.from_env()
    now = now or datetime.now(UTC)
    ledger = ledger_for(settings)
    new_events = ledger.unreacted_events()
    campaigns = {c.id: c for c in loadable_campaigns(settings.campaigns_dir)}
    days = {c.id: business_day(now.astimezone(ZoneInfo(c.timezone)).date(), c.timezone) for c in campaigns.values()}
    run_id = make_run_id(now.date(), orchestrator_run_id)
    snapshot = ledger.latest_snapshot(max((day.date for day in days.values()), default=now.date()))
    accounts = snapshot.set_index("account_id", drop=False).to_dict("index") if not snapshot.empty else {}
    context = reactions.Context(
        campaigns=campaigns,
        accounts=accounts,
        steps=ledger.steps_by_key(e["step_key"] for e in new_events),
        positions=ledger.positions({e["account_id"] for e in new_events if e["account_id"]}),
        days=days,
        events=ledger.contact_events(now - timedelta(days=8)),
        suppressions=ledger.active_suppressions(now),
        now=now,
        run_id=run_id,
        rules=rules_for(settings),
    )
    result = reactions.plan_reactions(new_events, context)
    ledger.add_steps(result.steps, result.audit)
    ledger.save_positions(list(result.positions.values()))
    ledger.mark_reacted([e["id"] for e in new_events], now)
    log.info("reacted to %d event(s): %s", len(new_events), dict(result.counts))
    return {
        "run_id": run_id,
        "only_this_run": True,
        "events": len(new_events),
        "reactions": dict(result.counts),
        "campaigns": {c: days[c].date.isoformat() for c in sorted({s["campaign"] for s in result.steps})},
        # Receipts, replies and payments change the day's numbers even when nothing is sent.
        "rollups": {c: day.date.isoformat() for c, day in days.items()} if new_events else {},
    }


def refresh_rollups(business_dates: dict[str, str], settings: Settings | None = None) -> None:
    """Rewrite the ops view's rollups of these campaigns' days (what came back changed them)."""
    settings = settings or Settings.from_env()
    ledger = ledger_for(settings)
    for campaign_id, business_date in business_dates.items():
        campaign = campaign_named(campaign_id, settings)
        write_rollup(ledger, campaign.id, business_day(date.fromisoformat(business_date), campaign.timezone))
