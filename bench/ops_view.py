"""Ops view benchmark: how long the funnel and the trend take on years of rollups.

    .venv/bin/python bench/ops_view.py --years 3 --database postgresql

Fills ``daily_rollups`` with --years of days for two campaigns, every bucket,
four channels and two variants (what a million-account book writes), then
times the ops API's reads (``outreach.ops_view``) over a week, a quarter and
the whole range. The page makes three such reads.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUCKETS = ["M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
CHANNELS = ["sms", "email", "voice", "agent_queue"]
VARIANTS = ["sms_first", "email_first"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()

    from sqlalchemy import create_engine, insert, text
    from sqlalchemy.engine import make_url

    from outreach import ops_view
    from outreach.ledger import Ledger
    from outreach.ledger.schema import FUNNEL_COLUMNS, daily_rollups
    from tests.conftest import POSTGRES_URL

    name = f"outreach_bench_{uuid.uuid4().hex[:6]}"
    admin = None
    if args.database == "postgresql":
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:////tmp/{name}.db"
    ledger = Ledger.from_url(url)
    try:
        ledger.create_schema()
        end = date(2026, 11, 20)
        days = [end - timedelta(days=n) for n in range(365 * args.years)]
        now = datetime.now(UTC)
        started = time.perf_counter()
        rows = 0
        with ledger.engine.begin() as conn:
            for day in days:
                batch = [
                    {
                        "business_date": day,
                        "campaign": campaign,
                        "bucket": bucket,
                        "channel": channel,
                        "variant": variant,
                        "updated_at": now,
                        **{column: (hash((day, bucket, channel, column)) % 5000) for column in FUNNEL_COLUMNS},
                    }
                    for campaign in ("m1_self_service", "m2_plus")
                    for bucket in BUCKETS
                    for channel in CHANNELS
                    for variant in VARIANTS
                ]
                conn.execute(insert(daily_rollups), batch)
                rows += len(batch)
        print(f"{rows:,} rollup rows ({len(days)} days) on {args.database} in {time.perf_counter() - started:.1f} s")
        for label, span in (("a week", 7), ("a quarter", 91), (f"{args.years} years", len(days))):
            start = end - timedelta(days=span - 1)
            for read in (ops_view.funnel, ops_view.daily):
                times = []
                for _ in range(5):
                    begin = time.perf_counter()
                    read(ledger, start, end, "m1_self_service")
                    times.append(time.perf_counter() - begin)
                print(f"  {read.__name__:<7} over {label:<10} best {min(times) * 1000:7.1f} ms")
        return 0
    finally:
        ledger.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        else:
            Path(f"/tmp/{name}.db").unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
