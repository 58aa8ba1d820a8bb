"""Ingest benchmark: how close the pull comes to the floor, and how far it is from the naive way.

    .venv/bin/python bench/ingest.py --accounts 1000000

Generates N accounts as Parquet (unless --first-day: yesterday's book, pulled first, and today's
export of it with 3% of its rows changed, ``--changed``), then measures, each phase in its own
process so that peak memory is its own:
  (a) floor      read the file and compute DPD with pyarrow/pandas, nothing else
                 (the median of three runs), with the allocator the project gives Arrow
                 (``outreach/arrow_memory.py``), as every phase has; it is also run on
                 Arrow's own default allocator, and printed, for comparison;
  (b) pull       the project's pull: read, map, validate, normalise, quarantine,
                 segment (DPD, bucket, roll against yesterday's book, which the
                 ledger already holds unless --first-day) and write the snapshot;
  (c) reference  a straightforward row-by-row version of the same work (iterrows,
                 a phonenumbers.parse per number, a dict per row into the ledger),
                 run on a sample; its per-row time is extrapolated to N, its read
                 of the whole file is counted once.
Prints rows/s, peak RSS, and the ratios b/a and c/b.

With --overlap, it then measures what pipelining the pull with the segmentation could save at
most: reading and validating the book (the pull's Python work) and loading the day's facts with
their indexes (the segmentation's database work, rolled back), one after the other and then side
by side on two threads, each way in its own process. The day's facts are made before the clock
starts, so side by side is a bound no batch-by-batch pipeline can beat: a real one could load a
batch only once it was validated, and index the day only once all of it was loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

BUSINESS_DATE = date(2026, 11, 20)
PREVIOUS_DATE = BUSINESS_DATE - timedelta(days=1)
BUCKET_TOPS = (("M1", 30), ("M2", 60), ("M3", 90), ("M4", 120), ("M5", 150), ("M6", 180))
BUCKET_RANK = {"current": 0, **{name: rank for rank, (name, _) in enumerate(BUCKET_TOPS, start=1)}, "M7+": 7}


def phase_floor(path: Path) -> int:
    import pandas as pd
    import pyarrow.parquet as pq

    frame = pq.read_table(path).to_pandas()
    dpd = (pd.Timestamp(BUSINESS_DATE) - pd.to_datetime(frame["oldest_unpaid_due_date"])).dt.days
    return int(dpd.count())


def phase_pull(path: Path, ledger_url: str, home: Path, business_date: date = BUSINESS_DATE) -> int:
    from outreach import pipeline
    from outreach.settings import Settings

    settings = Settings(
        home=home,
        ledger_url=ledger_url,
        accounts_file=path,
        timezone="America/New_York",
    )
    ref = pipeline.pull(business_date, f"bench-{business_date}", settings)
    pipeline.segment(ref, settings)
    return int(ref["accepted"])


def phase_reference(path: Path, rows: int, ledger_url: str) -> tuple[int, float]:
    """Rows kept, and the seconds spent reading the whole file (which does not grow with the sample)."""
    import pandas as pd
    import phonenumbers
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(ledger_url)
    started = time.perf_counter()
    frame = pd.read_parquet(path)
    previous: dict[str, str] = {}
    if inspect(engine).has_table("account_days"):
        query = text("SELECT account_id, bucket FROM account_days WHERE business_date = :day")
        previous = dict(pd.read_sql(query, engine, params={"day": PREVIOUS_DATE}).values)
    read_seconds = time.perf_counter() - started
    frame = frame.head(rows)
    out = []
    for _, row in frame.iterrows():
        record = row.to_dict()
        ok = True
        for column in ("mobile_phone", "home_phone", "work_phone"):
            if record[column]:
                try:
                    number = phonenumbers.parse(record[column], record["country"])
                    ok = ok and phonenumbers.is_valid_number(number)
                    record[column] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                except phonenumbers.NumberParseException:
                    ok = False
        ok = ok and bool(re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", record["email"] or "x@y.z"))
        record["balance_due_minor"] = int(round(float(record["balance_due"]) * 100))
        due = date.fromisoformat(record["oldest_unpaid_due_date"])
        record["dpd"] = (BUSINESS_DATE - due).days
        bucket = "current" if record["dpd"] <= 0 else next((n for n, top in BUCKET_TOPS if record["dpd"] <= top), "M7+")
        record["bucket"] = bucket
        before = previous.get(record["account_id"])
        if before is None:
            record["roll"] = "new"
        else:
            change = BUCKET_RANK[bucket] - BUCKET_RANK[before]
            record["roll"] = "forward" if change > 0 else "back" if change < 0 else "same"
        if ok:
            out.append(record)
    pd.DataFrame(out).to_sql("reference_snapshot", engine, if_exists="replace", index=False)
    return len(out), read_seconds


def phase_overlap(path: Path, ledger_url: str, home: Path, side_by_side: bool) -> tuple[float, float]:
    """Seconds of the pull's read and validation, and of the day's load, run as ``side_by_side`` says;
    returns (their total wall time, the load's own)."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    from outreach.accounts import file_spec, read_source
    from outreach.accounts.phone_prefixes import load_prefixes
    from outreach.accounts.phones import PhoneNormaliser
    from outreach.buckets import segment_table
    from outreach.ledger.bulk import insert_table
    from outreach.ledger.day_partitions import load_day
    from outreach.ledger.schema import DAY_COLUMNS
    from outreach.ledger.step_shards import table_with_account_hash
    from outreach.ledger.store import Ledger
    from outreach.settings import Settings

    ledger = Ledger.from_url(ledger_url)
    spec = file_spec(path)
    accepted = read_source(spec, BUSINESS_DATE).table
    segmented = segment_table(accepted, BUSINESS_DATE, ledger.latest_buckets_before(BUSINESS_DATE))
    segmented = segmented.append_column("run_id", pa.array(["overlap"] * segmented.num_rows, pa.string()))
    segmented = segmented.append_column("business_date", pa.array([BUSINESS_DATE] * segmented.num_rows, pa.date32()))
    days = table_with_account_hash(segmented).select(list(DAY_COLUMNS))

    def load() -> float:
        started = time.perf_counter()
        with ledger.engine.connect() as conn:
            transaction = conn.begin()
            load_day(conn, BUSINESS_DATE, days, insert_table)
            transaction.rollback()
        return time.perf_counter() - started

    def validate() -> None:
        # With the phone prefixes the pulls before it remembered, as the pull itself validates.
        read_source(
            spec,
            BUSINESS_DATE,
            phones=PhoneNormaliser(load_prefixes(Settings(home, ledger_url, path, "UTC").cache_dir)),
        )

    started = time.perf_counter()
    if side_by_side:
        with ThreadPoolExecutor(max_workers=2) as pool:
            validated = pool.submit(validate)
            load_seconds = pool.submit(load).result()
            validated.result()
    else:
        validate()
        load_seconds = load()
    return time.perf_counter() - started, load_seconds


def run_phase(args: list[str], env: dict[str, str] | None = None) -> dict:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, "--phase", *args], capture_output=True, text=True, check=False, env=env
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"phase {args[0]} failed:\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["wall_seconds"] = elapsed
    return data


def child(phase: str, path: Path, rows: int, ledger_url: str, home: Path) -> None:
    # Imports are paid before the clock starts: the phases compare work, not start-up.
    import pandas  # noqa: F401
    import phonenumbers  # noqa: F401
    import polars  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sqlalchemy  # noqa: F401

    import outreach.pipeline  # noqa: F401

    started = time.perf_counter()
    cpu_started = time.process_time()
    fixed_seconds = 0.0
    if phase == "floor":
        count = phase_floor(path)
    elif phase == "pull":
        count = phase_pull(path, ledger_url, home)
    elif phase == "yesterday":
        count = phase_pull(path, ledger_url, home, PREVIOUS_DATE)
    elif phase in ("one-after-the-other", "side-by-side"):
        total, load_seconds = phase_overlap(path, ledger_url, home, phase == "side-by-side")
        print(json.dumps({"rows": rows, "seconds": total, "load_seconds": load_seconds}))
        return
    else:
        count, fixed_seconds = phase_reference(path, rows, ledger_url)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rows": count,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "fixed_seconds": fixed_seconds,
                "peak_mb": peak_mb,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--reference-sample", type=int, default=20_000, help="rows the row-by-row reference runs on")
    parser.add_argument("--ledger-url", help="ledger for (b) and (c); default: a fresh SQLite file")
    parser.add_argument(
        "--first-day",
        action="store_true",
        help="pull into an empty ledger (a deployment's first day) instead of one holding yesterday's book",
    )
    parser.add_argument(
        "--changed", type=float, default=0.03, help="share of the book's rows that changed since yesterday"
    )
    parser.add_argument(
        "--overlap",
        action="store_true",
        help="also measure the most that pipelining the pull with the segmentation could save",
    )
    parser.add_argument("--phase", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.phase:
        phase, path, rows, ledger_url, home = args.phase
        child(phase, Path(path), int(rows), ledger_url, Path(home))
        return

    from bench.day import next_day_book
    from outreach.arrow_memory import ENVIRONMENT_VARIABLE, prefer_arrow_pool
    from outreach.sample import write_sample_parquet

    # Every phase's process inherits the allocator the project's own processes use (the floor too: a
    # floor on another allocator would measure the allocators, not the work). Importing the package
    # named it already; said here, where the phases depend on it.
    prefer_arrow_pool()
    arrow_default = {name: value for name, value in os.environ.items() if name != ENVIRONMENT_VARIABLE}

    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as scratch:
        work = Path(scratch)
        book = work / "book.parquet"
        yesterday = work / "yesterday.parquet"
        started = time.perf_counter()
        if args.first_day:
            write_sample_parquet(book, BUSINESS_DATE, args.accounts)
        else:
            # The next day's export of yesterday's book, a few percent of its rows changed, as a
            # real book changes from one day to the next.
            write_sample_parquet(yesterday, PREVIOUS_DATE, args.accounts)
            changed = next_day_book(yesterday, book, BUSINESS_DATE, args.changed)
            print(f"{changed:,} of {args.accounts:,} rows changed since yesterday")
        print(
            f"generated {args.accounts:,} accounts in {time.perf_counter() - started:.1f} s "
            f"({book.stat().st_size / 1e6:.0f} MB Parquet)"
        )
        ledger_url = args.ledger_url or f"sqlite:///{work / 'ledger.db'}"
        sample = min(args.reference_sample, args.accounts)
        common = [str(book), str(sample), ledger_url, str(work / "home")]
        if not args.first_day:
            # A daily pull finds yesterday's book in the ledger and rolls every account against it.
            run_phase(["yesterday", str(yesterday), *common[1:]])
        # The floor is a second or less and swings with the page cache: the median of three runs.
        floors = sorted((run_phase(["floor", *common]) for _ in range(3)), key=lambda phase: phase["seconds"])
        floor = floors[1]
        default_floor = sorted(
            (run_phase(["floor", *common], env=arrow_default) for _ in range(3)), key=lambda phase: phase["seconds"]
        )[1]
        pull = run_phase(["pull", *common])
        reference = run_phase(["reference", *common])
        overlap = (
            [run_phase([mode, *common]) for mode in ("one-after-the-other", "side-by-side")] if args.overlap else []
        )

    # Only the per-row work grows with the rows; reading the file is paid once whatever the sample.
    scale = args.accounts / max(1, sample)
    per_row_seconds = reference["seconds"] - reference["fixed_seconds"]
    reference_seconds = reference["fixed_seconds"] + per_row_seconds * scale
    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"ledger {ledger_url.split(':')[0]}, "
        + ("first day (empty ledger)" if args.first_day else "yesterday's book already in the ledger")
    )
    print(f"{'phase':<28} {'seconds':>9} {'rows/s':>12} {'peak MB':>9}")
    print(
        f"{'(a) floor: read + DPD':<28} {floor['seconds']:>9.2f} {args.accounts / floor['seconds']:>12,.0f} "
        f"{floor['peak_mb']:>9,.0f}"
    )
    print(
        f"{'    on Arrow default alloc.':<28} {default_floor['seconds']:>9.2f} "
        f"{args.accounts / default_floor['seconds']:>12,.0f} {default_floor['peak_mb']:>9,.0f}  "
        f"(the same floor with {ENVIRONMENT_VARIABLE} unset)"
    )
    print(
        f"{'(b) pull, end to end':<28} {pull['seconds']:>9.2f} {args.accounts / pull['seconds']:>12,.0f} "
        f"{pull['peak_mb']:>9,.0f}  ({pull['cpu_seconds']:.2f} CPU s in its own process, the database's not counted)"
    )
    print(
        f"{'(c) row by row (extrap.)':<28} {reference_seconds:>9.2f} {args.accounts / reference_seconds:>12,.0f} "
        f"{reference['peak_mb']:>9,.0f}  (per-row work measured on {sample:,} rows: {per_row_seconds:.2f} s)"
    )
    print(f"b/a = {pull['seconds'] / floor['seconds']:.1f}x   c/b = {reference_seconds / pull['seconds']:.1f}x")
    if overlap:
        serial, side = overlap
        saved = serial["seconds"] - side["seconds"]
        print(
            f"read + validate, then the day's load ({serial['load_seconds']:.2f} s of it): {serial['seconds']:.2f} s; "
            f"side by side: {side['seconds']:.2f} s. Pipelining could save at most {saved:.2f} s: "
            f"b/a {(pull['seconds'] - saved) / floor['seconds']:.1f}x at best"
        )


if __name__ == "__main__":
    main()
