"""Whole-day benchmark: every stage of a business day at N accounts, each in its own process.

    .venv/bin/python bench/day.py --accounts 100000 [--days 2] [--shards N] [--rerun] [--ledger-url postgresql://...]

Generates a book of N delinquent accounts and runs, for each day, the stages a campaign DAG
runs, each stage in a fresh process as an Airflow task would be (so its peak memory is its own):
pull + segment, plan of each campaign, dispatch of each campaign's due steps at noon with the
log channel, and the run report. Day 2 is the next business day's export of the same book with
3% of its rows changed (``--changed``): payments, new numbers, new emails; it is planned against
day 1's positions and contacts. Prints per stage:
wall and CPU seconds, peak RSS and CPU microseconds per account, then the floor (the snapshot
read and a vectorised "which stage today" over it) and each plan's ratio to it. With ``--shards N``
each campaign is planned and dispatched shard by shard, as N workers would each do their own;
with ``--side-by-side`` as well, a campaign's N shard tasks run at once, on this machine's cores.
With ``--rerun``, the last day's campaigns are planned again after its dispatch, as a person re-running
the day would: its sent steps stay, the rest is replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

FIRST_DAY = date(2026, 11, 19)
CAMPAIGNS = ("m1_self_service", "m2_plus")


def next_day_book(previous: Path, path: Path, day: date, share: float) -> int:
    """The next business day's export of the same book with ``share`` of its rows changed, as a day
    changes a real book: a payment reported, a new mobile number, a new email (a third each). The
    other rows are the same text; their accounts are a day further past due. Returns the rows changed."""
    import numpy as np
    import pandas as pd

    book = pd.read_parquet(previous)
    rng = np.random.default_rng([11, day.toordinal()])
    changed = rng.random(len(book)) < share
    kind = rng.integers(0, 3, len(book))
    paid = changed & (kind == 0)
    book.loc[paid, "last_payment_date"] = (day - timedelta(days=1)).isoformat()
    book.loc[paid, "last_payment_amount"] = "25.00"
    moved = changed & (kind == 1) & (book["mobile_phone"] != "")
    digits = pd.Series(rng.integers(0, 10_000, len(book))).astype(str).str.zfill(4)
    book.loc[moved, "mobile_phone"] = book.loc[moved, "mobile_phone"].str[:-4] + digits[moved]
    emailed = changed & (kind == 2) & (book["email"] != "")
    book.loc[emailed, "email"] = "new." + book.loc[emailed, "email"]
    book.to_parquet(path, index=False)
    return int(paid.sum() + moved.sum() + emailed.sum())


def settings_for(ledger_url: str, home: Path, book: Path):
    from outreach.settings import Settings

    return Settings(home=home, ledger_url=ledger_url, accounts_file=book, timezone="America/New_York")


def stage_pull(settings, day: date) -> dict:
    from outreach import pipeline

    ref = pipeline.segment(pipeline.pull(day, f"bench__{day}", settings), settings)
    return ref


def stage_plan(settings, ref: dict, campaign: str) -> dict:
    from outreach import pipeline

    return pipeline.plan(ref, campaign, settings)


def stage_dispatch(settings, ref: dict) -> dict:
    from outreach import pipeline

    noon = datetime.combine(date.fromisoformat(ref["business_date"]), datetime.min.time(), UTC) + timedelta(hours=17)
    return pipeline.dispatch_due(ref, settings, channel_set="log", now=noon)


def stage_report(settings, ref: dict) -> dict:
    from outreach import pipeline

    return pipeline.report(ref, settings)


def stage_floor(settings, ref: dict) -> dict:
    """The bare minimum of a plan: read the day's accounts and pick each one's stage, vectorised."""
    import numpy as np

    from outreach.pipeline import ledger_for

    snapshot = ledger_for(settings).snapshot(date.fromisoformat(ref["business_date"]))
    m1 = snapshot["bucket"] == "M1"
    stage = np.where(m1, "reminder-sms", np.where(snapshot["bucket"] != "current", "past-due-call", ""))
    return {**ref, "floor_rows": int((stage != "").sum())}


STAGES = {
    "pull": stage_pull,
    "plan": stage_plan,
    "dispatch": stage_dispatch,
    "report": stage_report,
    "floor": stage_floor,
}


def child(stage: str, ledger_url: str, home: Path, book: Path, ref_in: str, extra: str) -> None:
    # Imports are paid before the clock starts, as in a warm Airflow worker.
    import outreach.pipeline  # noqa: F401

    settings = settings_for(ledger_url, home, book)
    started, cpu_started = time.perf_counter(), time.process_time()
    if stage == "pull":
        ref = stage_pull(settings, date.fromisoformat(extra))
    elif stage == "plan":
        ref = stage_plan(settings, json.loads(ref_in), extra)
    else:
        ref = STAGES[stage](settings, json.loads(ref_in))
    print(
        json.dumps(
            {
                "ref": ref,
                "wall": time.perf_counter() - started,
                "cpu": time.process_time() - cpu_started,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            },
            default=str,
        )
    )


def run_stage(*args: str) -> dict:
    return run_side_by_side([args])[0]


def run_side_by_side(stages: list[tuple[str, ...]]) -> list[dict]:
    """Run stages each in its own process, all at once (as N workers would take a campaign's shards);
    the figures of each, in order. ``wall`` of each is its own, from its start to its end."""
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--stage", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for args in stages
    ]
    results = []
    for args, child_process in zip(stages, children, strict=True):
        out, err = child_process.communicate()
        if child_process.returncode != 0:
            sys.exit(f"stage {args[0]} failed:\n{err[-3000:]}")
        figures = json.loads(out.strip().splitlines()[-1])
        # A long run shows each stage as it ends, on stderr; the table comes at the end.
        done = f"{args[0]} {args[-1]}: {figures['wall']:.1f} s wall, {figures['peak_mb']:,.0f} MB"
        print(done, file=sys.stderr, flush=True)
        results.append(figures)
    return results


def together(figures: list[dict]) -> dict:
    """Tasks run at once, as one stage: the slowest one's wall, their CPU added up, the largest peak, and
    (for dispatches) their steps due and sends added up."""
    summaries = [f["ref"]["dispatch"] for f in figures if "dispatch" in f["ref"]]
    return {
        "wall": max(f["wall"] for f in figures),
        "cpu": sum(f["cpu"] for f in figures),
        "peak_mb": max(f["peak_mb"] for f in figures),
        "ref": figures[-1]["ref"],
        **({"dispatch": _summed(summaries)} if summaries else {}),
    }


def _summed(summaries: list[dict]) -> dict:
    return {key: sum(s[key] for s in summaries) for key in ("due", "sent", "waiting", "expired", "held_at_send")}


def dispatch_costs(rows: list[tuple[str, dict]]) -> list[str]:
    """Each dispatch stage's CPU per step it decided (sent now, left waiting for its window, expired or
    held at the last check) and per send: the bookkeeping a step costs."""
    lines = []
    for name, figures in rows:
        if " dispatch " not in name:
            continue
        counts = figures.get("dispatch") or _summed([figures["ref"]["dispatch"]])
        steps = counts["due"] + counts["waiting"] + counts["expired"] + counts["held_at_send"]
        if steps:
            per_send = f", {figures['cpu'] / counts['sent'] * 1e6:,.0f} a send" if counts["sent"] else ""
            lines.append(
                f"{name}: {steps:,} steps ({counts['due']:,} due now, {counts['sent']:,} sent): "
                f"{figures['cpu'] / steps * 1e6:,.0f} CPU us a step{per_send}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=1, choices=(1, 2))
    parser.add_argument(
        "--ledger-url", help="the ledger (default: a fresh SQLite file); a PostgreSQL database is emptied"
    )
    parser.add_argument(
        "--changed", type=float, default=0.03, help="share of the book's rows that change from day 1 to day 2"
    )
    parser.add_argument(
        "--shards", type=int, default=1, help="plan and dispatch each campaign in this many shards of the book"
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="with --shards N, run each campaign's N shard tasks at once rather than one after the other",
    )
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="after the last day's dispatch, plan its campaigns again, as a person re-running the day would",
    )
    parser.add_argument("--stage", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.stage:
        stage, ledger_url, home, book, ref_in, extra = args.stage
        child(stage, ledger_url, Path(home), Path(book), ref_in, extra)
        return

    from sqlalchemy import create_engine

    from outreach.ledger.schema import drop_ledger
    from outreach.sample import write_sample_parquet

    rows: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="outreach-bench-day-") as scratch:
        work = Path(scratch)
        ledger_url = args.ledger_url or f"sqlite:///{work / 'ledger.db'}"
        if args.ledger_url:
            # The run starts from an empty ledger, as a deployment's first day does.
            engine = create_engine(ledger_url)
            drop_ledger(engine)
            engine.dispose()
        home = work / "home"
        for offset in range(args.days):
            day = FIRST_DAY + timedelta(days=offset)
            book = work / f"book-{day}.parquet"
            if offset == 0:
                write_sample_parquet(book, day, args.accounts)
            else:
                changed = next_day_book(work / f"book-{day - timedelta(days=1)}.parquet", book, day, args.changed)
                print(f"day {offset + 1}: {changed:,} of {args.accounts:,} rows changed", file=sys.stderr, flush=True)
            common = (ledger_url, str(home), str(book))
            pulled = run_stage("pull", *common, "{}", day.isoformat())
            rows.append((f"day {offset + 1} pull + segment", pulled))
            ref = json.dumps(pulled["ref"])
            rows.append((f"day {offset + 1} floor", run_stage("floor", *common, ref, "")))
            shards = [{**pulled["ref"], "shard": [index, args.shards]} for index in range(args.shards)]
            for campaign in CAMPAIGNS:
                if args.side_by_side:
                    # The shards' tasks at once, as N workers run them: the campaign's plan takes as
                    # long as its slowest shard, on this machine's cores shared with the database.
                    at_once = f"({args.shards} shards at once)"
                    plans = run_side_by_side([("plan", *common, json.dumps(r), campaign) for r in shards])
                    rows.append((f"day {offset + 1} plan {campaign} {at_once}", together(plans)))
                    sends = run_side_by_side([("dispatch", *common, json.dumps(p["ref"]), "") for p in plans])
                    rows.append((f"day {offset + 1} dispatch {campaign} {at_once}", together(sends)))
                    sent = sends[-1]
                    continue
                for shard_ref in shards:
                    # One shard after the other: on N workers they would run side by side.
                    label = f" shard {shard_ref['shard'][0] + 1}/{args.shards}" if args.shards > 1 else ""
                    planned = run_stage("plan", *common, json.dumps(shard_ref), campaign)
                    rows.append((f"day {offset + 1} plan {campaign}{label}", planned))
                    sent = run_stage("dispatch", *common, json.dumps(planned["ref"]), "")
                    rows.append((f"day {offset + 1} dispatch {campaign} (log){label}", sent))
            rows.append((f"day {offset + 1} report", run_stage("report", *common, json.dumps(sent["ref"]), "")))
            if args.rerun and offset == args.days - 1:
                # The day planned again once its sends are out: what is claimed stays, the rest is replaced.
                for campaign in CAMPAIGNS:
                    again = run_side_by_side([("plan", *common, json.dumps(r), campaign) for r in shards])
                    at_once = f" ({args.shards} shards at once)" if args.shards > 1 else ""
                    rows.append((f"day {offset + 1} plan {campaign} again{at_once}", together(again)))

    print(
        f"{args.accounts:,} accounts, {args.days} day(s); machine: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, ledger {ledger_url.split(':')[0]}"
    )
    print(f"{'stage':<48} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'CPU us/acct':>12}")
    for name, figures in rows:
        per_account = figures["cpu"] / args.accounts * 1e6
        wall, cpu, peak = figures["wall"], figures["cpu"], figures["peak_mb"]
        print(f"{name:<48} {wall:>8.1f} {cpu:>8.1f} {peak:>8,.0f} {per_account:>12,.0f}")
    for line in dispatch_costs(rows):
        print(line)
    floors = {name.split(" floor")[0]: figures["wall"] for name, figures in rows if name.endswith("floor")}
    for name, figures in rows:
        if " plan " in name and " shard " not in name:
            floor = floors[name.split(" plan")[0]]
            print(f"{name}: {figures['wall'] / floor:,.0f}x the floor ({floor:.2f} s)")

    if args.shards > 1:
        # N workers take a campaign's shards side by side: its plan takes as long as its slowest shard.
        slowest: dict[str, float] = {}
        for name, figures in rows:
            if " shard " in name:
                stage = name.split(" shard ")[0]
                slowest[stage] = max(slowest.get(stage, 0.0), figures["wall"])
        for stage, wall in slowest.items():
            floor = floors[stage.split(" plan")[0].split(" dispatch")[0]]
            print(f"{stage} on {args.shards} workers: {wall:.1f} s (slowest shard), {wall / floor:,.0f}x the floor")


if __name__ == "__main__":
    main()
