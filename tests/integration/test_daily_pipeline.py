"""The daily run's steps end to end on a real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
import os
import re
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from outreach import pipeline
from outreach.accounts import SourceError
from outreach.accounts.phone_prefixes import load_prefixes, save_prefixes
from outreach.accounts.staging import read_staged
from outreach.report import build_report
from outreach.sample import write_sample
from tests.days import Book, plan_all

DAY = date(2026, 11, 20)
NOON_IN_NEW_YORK = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
FULL_PHONE = re.compile(r"\+(1\d{10}|86\d{11})\b")


def run_day(settings, orchestrator_run_id: str, now: datetime = NOON_IN_NEW_YORK) -> dict:
    ref = pipeline.pull(DAY, orchestrator_run_id, settings)
    ref = pipeline.segment(ref, settings)
    ref = plan_all(ref, settings)
    ref = pipeline.dispatch_due(ref, settings, now=now)
    return pipeline.report(ref, settings)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    write_sample(path, DAY, accounts=600)
    return path


def test_a_day_runs_end_to_end_and_the_report_matches_the_ledger(ledger, settings_for, book):
    settings = settings_for(ledger, book)
    ref = run_day(settings, "scheduled__1")
    report = build_report(ledger, ref["run_id"])

    assert report["rows_read"] == 609 and report["accepted"] == 600 and report["quarantined"] == 9
    assert sum(report["accounts_by_bucket"].values()) == 600

    steps = ledger.steps(DAY)
    attempts = ledger.attempts_for(DAY)
    assert sum(report["sent_by_channel"].values()) == (attempts["status"] == "sent").sum() > 0
    assert set(attempts["step_key"]) <= set(steps.loc[steps["decision"].isin(["send", "defer"]), "step_key"])
    held = steps[steps["status"] == "held"]
    assert sum(report["held_by_rule"].values()) == len(held) > 0
    assert held["reason"].map(bool).all(), "every held step carries a reason"
    # Honolulu opens at 18:00 UTC, Shanghai at 00:00 UTC: both still wait in a US-noon run.
    waiting = steps[steps["status"] == "pending"]
    assert report["waiting"] == len(waiting) > 0
    waiting_accounts = set(waiting["account_id"])
    snapshot = ledger.snapshot(DAY).set_index("account_id")
    assert {"CN", "US"} <= set(snapshot.loc[list(waiting_accounts), "country"])

    outbox = (settings.outbox_dir / f"{DAY}.jsonl").read_text(encoding="utf-8").splitlines()
    to_people = attempts["channel"].isin(["agent_queue", "letter"])
    assert len(outbox) == (~to_people).sum()
    assert len(ledger.handoffs(kind=["agent_queue", "letter"])) == to_people.sum(), "hand-offs are rows for people"
    assert not FULL_PHONE.search("\n".join(outbox)), "the outbox must mask phone numbers"
    saved = json.loads((settings.reports_dir / f"{DAY}.json").read_text())
    assert saved["sent_by_channel"] == report["sent_by_channel"]


def test_a_second_run_of_the_same_day_contacts_nobody_twice(ledger, settings_for, book):
    settings = settings_for(ledger, book)
    first = build_report(ledger, run_day(settings, "scheduled__1")["run_id"])
    second = build_report(ledger, run_day(settings, "manual__rerun")["run_id"])

    assert sum(second["sent_by_channel"].values()) == 0
    assert second["already_sent_earlier"] == sum(first["sent_by_channel"].values())
    attempts = ledger.attempts_for(DAY)
    assert attempts["step_key"].is_unique
    outbox = (settings.outbox_dir / f"{DAY}.jsonl").read_text(encoding="utf-8").splitlines()
    to_people = attempts["channel"].isin(["agent_queue", "letter"])
    assert len(outbox) == (~to_people).sum()
    assert len(ledger.handoffs(kind=["agent_queue", "letter"])) == to_people.sum(), "hand-offs are rows for people"


def test_steps_wait_for_the_debtor_local_morning_and_go_when_it_comes(ledger, settings_for, book):
    settings = settings_for(ledger, book)
    early = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)  # 06:00 in New York
    run_day(settings, "scheduled__1", now=early)
    waiting = ledger.steps(DAY, statuses=["pending"])
    electronic = waiting[waiting["channel"].isin(["sms", "email", "voice"])]
    assert len(electronic) > 0 and (electronic["window_start"] > early).all()
    sent_early = set(ledger.attempts_for(DAY)["step_key"])
    assert sent_early.isdisjoint(set(electronic["step_key"]))

    later = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    pipeline.dispatch_due({"run_id": "later", "business_date": DAY.isoformat()}, settings, now=later)
    sent = set(ledger.attempts_for(DAY)["step_key"])
    opened = set(electronic.loc[electronic["window_start"] <= later, "step_key"])
    assert opened and opened <= sent


def test_an_opt_out_recorded_after_planning_stops_the_step(ledger, settings_for, book):
    settings = settings_for(ledger, book)
    ref = plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    step = ledger.steps(DAY, statuses=["pending"]).query("channel == 'sms'").iloc[0]
    ledger.add_suppression(
        account_id=step["account_id"],
        channel="sms",
        address=step["contact_address"],
        reason="electronic_address_opt_out",
        source="sms_keyword",
        effective_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
    )
    pipeline.dispatch_due(ref, settings, now=NOON_IN_NEW_YORK)
    after = ledger.steps(DAY).set_index("step_key").loc[step["step_key"]]
    assert after["status"] == "held"
    assert "electronic_address_opt_out" in after["status_reason"]
    assert step["step_key"] not in set(ledger.attempts_for(DAY)["step_key"])


def test_concurrent_claims_never_share_a_step(ledger, settings_for, book):
    settings = settings_for(ledger, book)
    plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    steps = ledger.steps(DAY, statuses=["pending"]).to_dict("records")
    won: dict[str, set[str]] = {}

    def worker(name: str) -> None:
        won[name] = ledger.claim(steps, run_id=name)

    threads = [threading.Thread(target=worker, args=(f"worker-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [key for keys in won.values() for key in keys]
    assert len(claimed) == len(set(claimed)) == len(steps)


def test_a_step_held_after_it_was_read_is_not_claimed_and_a_claimed_one_is_not_claimed_again(
    ledger, settings_for, book
):
    settings = settings_for(ledger, book)
    plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    steps = ledger.steps(DAY, statuses=["pending"]).to_dict("records")
    held, first, rest = steps[0], steps[1], steps[2:]
    # Read as pending by a dispatch, then held (a payment came in) before its claim.
    ledger.set_step_status([{"step_key": held["step_key"], "status": "held", "status_reason": "paid"}])

    assert ledger.claim([first], run_id="earlier") == {first["step_key"]}
    won = ledger.claim(steps, run_id="later")

    assert won == {step["step_key"] for step in rest}
    claims = ledger.attempts_for(DAY).set_index("step_key")
    assert held["step_key"] not in claims.index
    assert claims.loc[first["step_key"], "run_id"] == "earlier"


def test_a_missing_accounts_file_fails_the_pull_naming_the_file(sqlite_ledger, settings_for, tmp_path):
    settings = settings_for(sqlite_ledger, tmp_path / "drop" / "accounts-2026-11-20.csv")
    with pytest.raises(SourceError, match=r"accounts-2026-11-20\.csv does not exist"):
        pipeline.pull(DAY, "scheduled__1", settings)


def test_a_pull_removes_staged_accounts_older_than_the_kept_days_and_their_segmentation_says_so(
    sqlite_ledger, settings_for, book
):
    settings = replace(settings_for(sqlite_ledger, book), staged_days=7)
    first = pipeline.pull(DAY, "scheduled__1", settings)
    eight_days_ago = time.time() - 8 * 86_400
    os.utime(first["accounts_path"], (eight_days_ago, eight_days_ago))

    second = pipeline.pull(DAY, "manual__2", settings)

    assert not Path(first["accounts_path"]).exists() and Path(second["accounts_path"]).exists()
    with pytest.raises(FileNotFoundError, match=r"kept 7 days \(OUTREACH_STAGED_DAYS\)\. Run the pull again"):
        pipeline.segment(first, settings)
    assert sum(pipeline.segment(second, settings)["buckets"].values()) == 600


def test_the_next_pull_reads_the_phone_prefixes_the_last_one_decided(sqlite_ledger, settings_for, book):
    settings = settings_for(sqlite_ledger, book)
    first = pipeline.pull(DAY, "scheduled__1", settings)
    remembered = load_prefixes(settings.cache_dir)
    assert remembered and all(valid for valid in remembered.values())

    second = pipeline.pull(DAY, "manual__2", settings)
    assert load_prefixes(settings.cache_dir) == remembered, "nothing new to remember"
    assert read_staged(Path(second["accounts_path"])).equals(read_staged(Path(first["accounts_path"])))

    # The proof that the file is read: an answer planted in it (999 is no area code) is believed.
    with book.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["mobile_phone"] = "+19995550100"
    with book.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    refused = pipeline.pull(DAY, "manual__3", settings)["run_id"]
    assert (2, "mobile_phone") in {(q["line"], q["field"]) for q in sqlite_ledger.quarantined(refused)}
    save_prefixes(settings.cache_dir, {**remembered, "+1999555:12": True})
    believed = pipeline.pull(DAY, "manual__4", settings)["run_id"]
    assert 2 not in {q["line"] for q in sqlite_ledger.quarantined(believed)}


def _dispatch_in_another_process(ledger_url: str, home: str, name: str) -> None:
    from outreach.settings import Settings

    settings = Settings(
        home=Path(home),
        ledger_url=ledger_url,
        accounts_file=Path(home) / "unused.csv",
        timezone="America/New_York",
    )
    pipeline.dispatch_due({"run_id": name, "business_date": DAY.isoformat()}, settings, now=NOON_IN_NEW_YORK)


def test_two_worker_processes_on_the_same_day_never_send_a_step_twice(postgres_ledger, settings_for, book):
    import multiprocessing

    settings = settings_for(postgres_ledger, book)
    plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    url = postgres_ledger.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_dispatch_in_another_process, args=(url, str(settings.home), f"w{i}")) for i in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    attempts = postgres_ledger.attempts_for(DAY)
    assert len(attempts) > 0 and attempts["step_key"].is_unique
    outbox = (settings.outbox_dir / f"{DAY}.jsonl").read_text(encoding="utf-8").splitlines()
    to_people = attempts["channel"].isin(["agent_queue", "letter"])
    assert len(outbox) == (~to_people).sum(), "each claimed step was sent by exactly one worker"
    assert len(postgres_ledger.handoffs(kind=["agent_queue"])) == to_people.sum()


def test_each_account_s_move_since_the_previous_business_day_is_kept_as_its_roll(ledger, settings_for, tmp_path):
    from datetime import timedelta

    from tests.days import Book

    friday, monday = date(2026, 11, 20), date(2026, 11, 23)
    book = Book(tmp_path / "accounts.csv")
    book.add("WORSE", friday - timedelta(days=30))  # M1 on Friday, 33 DPD (M2) on Monday
    book.add("BETTER", friday - timedelta(days=45))  # M2, then a payment moves its oldest due date
    book.add("CURED", friday - timedelta(days=10))  # M1, then paid up to date
    book.add("SAME", friday - timedelta(days=5))
    settings = settings_for(ledger, book.write())
    pipeline.segment(pipeline.pull(friday, "scheduled__friday", settings), settings)

    book.update("BETTER", oldest_unpaid_due_date=(monday - timedelta(days=12)).isoformat())
    book.update("CURED", oldest_unpaid_due_date=(monday + timedelta(days=20)).isoformat())
    book.add("NEW", monday - timedelta(days=3))
    book.write()
    pipeline.segment(pipeline.pull(monday, "scheduled__monday", settings), settings)

    snapshot = ledger.snapshot(monday).set_index("account_id")
    assert snapshot[["previous_bucket", "bucket", "roll"]].to_dict("index") == {
        "WORSE": {"previous_bucket": "M1", "bucket": "M2", "roll": "forward"},
        "BETTER": {"previous_bucket": "M2", "bucket": "M1", "roll": "back"},
        "CURED": {"previous_bucket": "M1", "bucket": "current", "roll": "back"},
        "SAME": {"previous_bucket": "M1", "bucket": "M1", "roll": "same"},
        "NEW": {"previous_bucket": None, "bucket": "M1", "roll": "new"},
    }


def test_quarantined_rows_keep_what_a_person_fixes_and_not_the_debtors_contact_details(ledger, settings_for, book):
    settings = settings_for(ledger, book)
    ref = pipeline.pull(DAY, "scheduled__1", settings)
    rows = ledger.quarantined(ref["run_id"])
    assert len(rows) == 9 and all(row["line"] and row["field"] and row["reason"] for row in rows)
    kept = json.dumps([row["raw"] for row in rows])
    assert not FULL_PHONE.search(kept), "phone numbers are masked"
    assert not re.search(r"[\w.]{2,}@", kept), "email addresses are masked"
    assert any(row["raw"].get("account_id") for row in rows), "the account id stays: it is how a person finds the row"


def test_a_nul_byte_in_a_field_quarantines_that_row_and_the_day_goes_on(ledger, settings_for, tmp_path):
    book = Book(tmp_path / "accounts.csv")
    book.add("AC-CLEAN", DAY, name="Jane Doe")
    book.add("AC-NUL", DAY, name="Jo\x00hn Roe", mobile_phone="+12125550188")
    book.add("AC-ALSO-CLEAN", DAY, name="Ann Lee", mobile_phone="+12125550189")
    settings = settings_for(ledger, book.write())

    ref = pipeline.segment(pipeline.pull(DAY, "scheduled__nul", settings), settings)

    assert set(ledger.snapshot(DAY)["account_id"]) == {"AC-CLEAN", "AC-ALSO-CLEAN"}
    (row,) = ledger.quarantined(ref["run_id"])
    assert (row["line"], row["field"]) == (3, "name") and "NUL byte" in row["reason"]
    assert "\x00" not in json.dumps(row["raw"])
