"""Executing the day's plan: ask the policy again, claim each step in the ledger, send, record.

The policy engine is asked again at send time, with the latest history and
suppressions, because quiet hours are judged when a message goes and an opt-out
may have arrived since the plan was made. The claim comes before the provider
call and is unique per step key, so an Airflow retry, a re-run of the day or a
second worker never contacts anyone twice.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from outreach.channels import Channel, OutboundMessage, SendResult
from outreach.channels.segments import segment_count
from outreach.decision_classes import DecisionClasses
from outreach.frames import rows_of
from outreach.ledger import Ledger
from outreach.ledger.ref_records import content_digest
from outreach.messages import Renderer
from outreach.parties import as_seen_by
from outreach.planner import ActiveSuppressions, BusinessDay, ContactHistories
from outreach.policy import RuleSet
from outreach.preflight import refuse_unsafe
from outreach.shards import Shard

log = logging.getLogger(__name__)
# Calls and texts from a week back are all the caps look at; a little more is harmless.
HISTORY_WINDOW = timedelta(days=8)
# Twilio answers that mean "never text this number again": unsubscribed, not a mobile.
PROVIDER_BLOCK_CODES = {"21610", "21614"}


# Pending steps decided and sent per round: the accounts of one round are all a dispatch holds.
STEPS_PER_ROUND = 20_000


class AccountsOnDay(Mapping[str, Mapping[str, Any]]):
    """The accounts of a business day, read from the ledger a round of steps at a time.

    A dispatch reads only the accounts whose steps it is sending, and lets them go after each
    round: its memory follows the round, not the book (a million accounts held as rows would take
    gigabytes). A lookup of an account not read yet reads it.
    """

    def __init__(self, ledger: Ledger, business_date: Any):
        self.ledger, self.business_date = ledger, business_date
        self._rows: dict[str, Mapping[str, Any]] = {}

    def read(self, account_ids: Any) -> None:
        missing = [a for a in dict.fromkeys(account_ids) if a not in self._rows]
        if missing:
            self._rows.update(self.ledger.accounts_on(self.business_date, missing))

    def forget(self) -> None:
        self._rows.clear()

    def __getitem__(self, account_id: str) -> Mapping[str, Any]:
        if account_id not in self._rows:
            self.read([account_id])
        return self._rows[account_id]

    def __iter__(self):
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass
class DispatchSummary:
    due: int = 0
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    expired: int = 0
    held_at_send: int = 0
    claimed_elsewhere: int = 0
    # The provider did not take them for now: waiting for a later wave (or tomorrow's plan).
    requeued: int = 0
    # The request may have reached the provider: settled by callbacks, a lookup or a person.
    unknown: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    # "<channel> <provider code>" -> failed sends: what an alarm names.
    failed_by_code: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("by_channel", "failed_by_code")}
        data["sent_by_channel"] = dict(self.by_channel)
        data["failed_by_code"] = dict(self.failed_by_code)
        return data


def dispatch(
    ledger: Ledger,
    day: BusinessDay,
    run_id: str,
    channels: Mapping[str, Channel],
    renderer: Renderer,
    now: datetime | None = None,
    rules: RuleSet | None = None,
    batch_size: int = 500,
    max_sms_segments: int = 3,
    campaign: str | None = None,
    only_this_run: bool = False,
    lease: timedelta = timedelta(minutes=2),
    retry_after: timedelta = timedelta(minutes=30),
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
    shard: Shard | None = None,
) -> DispatchSummary:
    """Send the day's pending steps whose window is open (only ``run_id``'s own with ``only_this_run``; only
    one shard's of the book with ``shard``)."""
    now = now or datetime.now(UTC)
    summary = DispatchSummary()
    steps = ledger.steps(
        day.date, statuses=["pending"], campaign=campaign, run_id=run_id if only_this_run else None, shard=shard
    )
    if steps.empty:
        return summary
    # Reactions on a day no source was read (a weekend) use the newest snapshot; a caller that reads
    # accounts already (for the hand-off channels) passes its reader rather than a second one.
    if accounts is None:
        accounts = AccountsOnDay(ledger, day.date)
    active_suppressions = ActiveSuppressions(ledger.active_suppressions(now))
    # Asked again at the send instant, once per class of alike steps (``outreach.decision_classes``).
    decisions = DecisionClasses(rules)

    status_updates: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []

    def note(step: Mapping[str, Any], status: str, reason: str, rules_ids: str, window_start: Any = None) -> None:
        status_updates.append(
            {"step_key": step["step_key"], "status": status, "status_reason": reason, "window_start": window_start}
        )
        audit.append(
            {
                "decided_at": now,
                "run_id": run_id,
                "business_date": day.date,
                "account_id": step["account_id"],
                "step_key": step["step_key"],
                "actor": "dispatcher",
                "decision": status,
                "rule_ids": rules_ids,
                "reason": reason,
            }
        )

    def decide_round(round_steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        due: list[dict[str, Any]] = []
        # The contacts of this round's accounts and numbers only: a round never reads the whole book's.
        histories_by_contact = ContactHistories(
            ledger.contact_events_about(
                now - HISTORY_WINDOW,
                (step["account_id"] for step in round_steps),
                (step["contact_address"] for step in round_steps),
            )
        )
        for step in round_steps:
            if step["window_start"] is not None and now < step["window_start"]:
                summary.waiting += 1
                continue
            decision, recording_days = decisions.decide(
                as_seen_by(accounts[step["account_id"]], step.get("recipient")),
                step["channel"],
                step["template"],
                step["contact_address"],
                now,
                histories_by_contact.for_contact(step["account_id"], step["contact_address"]),
                active_suppressions.for_contact(step["account_id"], step["contact_address"]),
                recording=True,
            )
            rule_ids = ",".join(decision.rules)
            if decision.decision == "send":
                due.append({**step, "recording_days": recording_days})
            elif decision.decision == "defer" and decision.not_before and decision.not_before < day.end:
                note(step, "pending", f"waiting: {decision.reason_text()}", rule_ids, window_start=decision.not_before)
                summary.waiting += 1
            elif decision.decision == "defer":
                note(step, "expired", f"not possible today: {decision.reason_text()}", rule_ids)
                summary.expired += 1
            else:
                note(step, "held", decision.reason_text(), rule_ids)
                summary.held_at_send += 1
        return due

    def send_round(due: list[dict[str, Any]]) -> None:
        summary.due += len(due)
        for start in range(0, len(due), batch_size):
            batch = due[start : start + batch_size]
            won = ledger.claim(batch, run_id, lease)
            summary.claimed_elsewhere += len(batch) - len(won)
            with ClaimLease(ledger, won, lease):
                results, segments = _send_batch(
                    [s for s in batch if s["step_key"] in won],
                    accounts,
                    channels,
                    renderer,
                    max_sms_segments,
                    ledger,
                    day,
                )
            # Recorded once the renewals stopped (the lease still runs): the two never lock the same rows at once.
            ledger.complete_attempts([{**r.__dict__, "segments": segments.get(r.step_key)} for r in results])
            step_of = {step["step_key"]: step for step in batch}
            retry_at = now + retry_after
            for result in results:
                step = step_of[result.step_key]
                if result.permanent and result.error_code in PROVIDER_BLOCK_CODES:
                    ledger.add_suppression(
                        account_id=step["account_id"],
                        channel="sms",
                        address=step["contact_address"],
                        reason="provider_block",
                        source="provider",
                        note=f"Twilio {result.error_code}",
                        effective_at=now,
                    )
                if result.status == "sent":
                    summary.sent += 1
                    summary.by_channel[step["channel"]] += 1
                elif result.status == "unknown":
                    summary.unknown += 1
                else:
                    summary.failed_by_code[f"{step['channel']} {result.error_code or 'unknown'}"] += 1
                    if not result.permanent:
                        summary.requeued += 1
                        continue
                    summary.failed += 1
                status_updates.append(
                    {"step_key": result.step_key, "status": result.status, "status_reason": result.error}
                )
            requeued = [r for r in results if r.status == "failed" and not r.permanent]
            if requeued:
                # The provider did not take these (429, 5xx, unreachable): no one was contacted, so the
                # claim is given back and the step waits for a later wave, or tomorrow's plan.
                ledger.release_claims([r.step_key for r in requeued])
                for result in requeued:
                    if retry_at < day.end:
                        note(
                            step_of[result.step_key],
                            "pending",
                            f"waiting: the provider did not take it ({result.error}); tried again from "
                            f"{retry_at:%H:%M} UTC",
                            "",
                            window_start=retry_at,
                        )
                    else:
                        note(
                            step_of[result.step_key],
                            "expired",
                            f"not possible today: the provider did not take it ({result.error}) and the day "
                            "ends before it can be tried again; planned again on the next business day",
                            "",
                        )
            log.info(
                "dispatched a batch of %d: %d sent, %d failed, %d to try again later, %d with an unknown outcome",
                len(batch),
                sum(r.status == "sent" for r in results),
                sum(r.status == "failed" and r.permanent for r in results),
                len(requeued),
                sum(r.status == "unknown" for r in results),
            )

    for start in range(0, len(steps), STEPS_PER_ROUND):
        round_steps = list(rows_of(steps.iloc[start : start + STEPS_PER_ROUND]))
        if isinstance(accounts, AccountsOnDay):
            accounts.read(step["account_id"] for step in round_steps)
        due = decide_round(round_steps)
        send_round(due)
        if isinstance(accounts, AccountsOnDay):
            accounts.forget()
        # The next round looks up sends and refs among those this one wrote.
        ledger.refresh_statistics("attempts", "message_refs", written=len(due))

    ledger.set_step_status(status_updates)
    ledger.record_decisions(audit)
    return summary


def _send_batch(
    batch: list[dict[str, Any]],
    accounts: Mapping[str, Mapping[str, Any]],
    channels: Mapping[str, Channel],
    renderer: Renderer,
    max_sms_segments: int,
    ledger: Ledger,
    day: BusinessDay,
) -> tuple[list[SendResult], dict[str, int]]:
    """Render and send claimed steps; the provider outcome of each, and each text's segment count."""
    by_channel: dict[str, list[OutboundMessage]] = {}
    results: list[SendResult] = []
    segments: dict[str, int] = {}
    for step in batch:
        account = as_seen_by(accounts[step["account_id"]], step.get("recipient"))
        rendered = renderer.render(step["channel"], step["template"], account, step["step_key"])
        if rendered.missing:
            # Checked on the letter as it would go out, for this account: a field left empty by the
            # bank's template or by the data (no name on file) stops this letter, not the batch.
            results.append(
                SendResult(
                    step["step_key"],
                    "failed",
                    error_code="letter_fields",
                    permanent=True,
                    error=f"the letter lacks required field(s) {', '.join(rendered.missing)}"
                    f" (template {step['template']}, CBRC Order 2011 No. 2 Art. 69)",
                )
            )
            continue
        if step["channel"] == "sms":
            segments[step["step_key"]] = segment_count(rendered.body)
            if segments[step["step_key"]] > max_sms_segments:
                results.append(
                    SendResult(
                        step["step_key"],
                        "failed",
                        error_code="segments",
                        permanent=True,
                        error=f"the text is {segments[step['step_key']]} segments; the cap "
                        f"is {max_sms_segments} (template {step['template']})",
                    )
                )
                continue
        by_channel.setdefault(step["channel"], []).append(
            OutboundMessage(
                step_key=step["step_key"],
                account_id=step["account_id"],
                channel=step["channel"],
                to=step["contact_address"],
                subject=rendered.subject,
                body=rendered.body,
                locale=account["locale"],
                ref=rendered.ref,
                record=bool(step.get("recording_days")),
                recipient=account.get("recipient"),
            )
        )
    # Before anything goes: a receipt or an unsubscribe can come back the moment a message is out,
    # and an interrupted text is found at the provider by its exact words.
    ledger.register_refs(
        [
            {
                "ref": m.ref,
                "step_key": m.step_key,
                "account_id": m.account_id,
                "business_date": day.date,
                "content_digest": content_digest(m.body),
            }
            for messages in by_channel.values()
            for m in messages
        ]
    )
    for channel_name, messages in by_channel.items():
        results.extend(channels[channel_name].send(messages))
    return results, segments


class ClaimLease:
    """Keeps a live worker's claims its own: their lease is renewed until the batch is recorded.

    A claim whose lease ran out belongs to a worker that died; only those are settled by another
    run (``outreach.reconcile``), however long a throttled batch takes.
    """

    def __init__(self, ledger: Ledger, step_keys: set[str], lease: timedelta):
        self.ledger, self.step_keys, self.lease = ledger, step_keys, lease
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="claim-lease", daemon=True)

    def _renew(self) -> None:
        while not self._done.wait(self.lease.total_seconds() / 3):
            try:
                self.ledger.renew_claims(self.step_keys, self.lease)
            except Exception:  # the ledger away for a moment: the next renewal tries again
                log.warning("could not renew the lease of %d claims", len(self.step_keys), exc_info=True)

    def __enter__(self) -> ClaimLease:
        if self.step_keys:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()


def channels_for(
    kind: str,
    outbox_dir: Path,
    business_date: Any,
    provider_env: Mapping[str, str] | None = None,
    rate_share: float = 1.0,
) -> dict[str, Channel]:
    """The channel set of a deployment: ``log`` (record only), ``sandbox`` or ``providers``.

    Hand-offs to people (agent queue, letters) are recorded by the log channel in every set.
    ``rate_share``: the part of each provider's configured send rate these channels may use (a
    shard of the book sending beside the others takes its share, so together they keep the rate).
    """
    from outreach.channels import LogChannel

    log_channel = LogChannel(outbox_dir / f"{business_date.isoformat()}.jsonl")
    channels: dict[str, Channel] = {
        name: log_channel for name in ("sms", "email", "voice", "voicemail", "letter", "agent_queue")
    }
    if kind == "log":
        return channels
    if kind not in ("sandbox", "providers"):
        raise ValueError(f"unknown channel set {kind!r}; available: log, sandbox, providers")
    from outreach.channels.providers import (
        ProviderSettings,
        SendGridEmailChannel,
        TwilioSmsChannel,
        TwilioVoiceChannel,
    )

    env = dict(provider_env if provider_env is not None else os.environ)
    if kind == "sandbox":
        env.setdefault("OUTREACH_SANDBOX_URL", "http://127.0.0.1:8765")
    else:
        # Real providers: the same refusals as at start-up, on the credentials and senders in use now.
        refuse_unsafe(env, credentials_read=True)
    settings = ProviderSettings.from_env(env)
    if rate_share != 1.0:
        settings = replace(
            settings,
            sms_per_second=settings.sms_per_second * rate_share,
            calls_per_second=settings.calls_per_second * rate_share,
            mail_requests_per_second=settings.mail_requests_per_second * rate_share,
        )
    channels.update(
        sms=TwilioSmsChannel(settings), voice=TwilioVoiceChannel(settings), email=SendGridEmailChannel(settings)
    )
    return channels
