"""Event latency benchmark: from a provider's callback to the reaction going out.

    .venv/bin/python bench/event_latency.py --accounts 10 --rounds 3

Starts Airflow's API server (with the plugin), scheduler and DAG processor on
fresh PostgreSQL databases (the machine's server, OUTREACH_TEST_POSTGRES_URL),
and the provider sandbox. Each round texts --accounts numbers the sandbox
reports undelivered; the sandbox posts the signed callbacks to the plugin,
which records them and updates the events asset; the scheduler runs
outreach_events, which falls back to email. For every account it prints:

  recorded -> planned: the callback in the ledger until the fallback is planned;
  recorded -> sent:    until the fallback email was handed to the provider.

The fallback goes at once only inside the debtor's contact window (08:00-21:00 in
New York for these accounts): run it then.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NEW_YORK = ZoneInfo("America/New_York")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from outreach.sandbox.app import create_app
    from tests.servers import Sandbox, serve
    from tests.stack import api_url, fresh_databases, running_airflow, stack_environment

    work = Path(tempfile.mkdtemp(prefix="event-latency-"))
    with fresh_databases("bench") as (airflow_db, ledger_db), serve(create_app()) as sandbox_url:
        sandbox = Sandbox(sandbox_url)
        env = stack_environment(work, airflow_db, ledger_db, "LocalExecutor")
        env.update(
            {
                "OUTREACH_CHANNELS": "sandbox",
                "OUTREACH_SANDBOX_URL": sandbox_url,
                "OUTREACH_CALLBACK_BASE_URL": api_url(env),
                "OUTREACH_ACCOUNTS_FILE": str(work / "accounts.csv"),
            }
        )
        for name in ("OUTREACH_CHANNELS", "OUTREACH_SANDBOX_URL", "OUTREACH_CALLBACK_BASE_URL"):
            os.environ[name] = env[name]
        with running_airflow(env, work / "logs", "outreach_events"):
            to_planned, to_sent = measure(env, sandbox, work, args.accounts, args.rounds)
    print(f"{args.rounds} round(s) x {args.accounts} undelivered texts, {os.cpu_count()} CPUs")
    for label, values in (("recorded -> planned", to_planned), ("recorded -> sent", to_sent)):
        print(
            f"  {label:<20} median {statistics.median(values):6.1f} s   "
            f"min {min(values):6.1f} s   max {max(values):6.1f} s"
        )
    return 0


def measure(env: dict[str, str], sandbox, work: Path, accounts: int, rounds: int) -> tuple[list[float], list[float]]:
    """Seconds from each undelivered callback being recorded to its fallback being planned, and sent."""
    from sqlalchemy import select

    from outreach import pipeline
    from outreach.campaigns import load_campaign
    from outreach.ledger import Ledger
    from outreach.ledger.schema import attempts, events, planned_steps
    from outreach.settings import Settings
    from tests.days import Book

    settings = Settings.from_env(env)
    ledger = Ledger.from_url(settings.ledger_url)
    today = datetime.now(NEW_YORK).date()
    send_at = datetime.combine(today, datetime.min.time().replace(hour=12), NEW_YORK).astimezone(UTC)
    book = Book(work / "accounts.csv")
    to_planned: list[float] = []
    to_sent: list[float] = []
    campaign = load_campaign(settings.campaigns_dir / "m1_self_service.yaml")
    candidates = (f"AC{n:06d}" for n in range(10**6))
    sms_first = (a for a in candidates if campaign.variant_for(a) == "sms_first")
    for round_number in range(rounds):
        # The sms_first arm texts first; an undelivered text falls back to email.
        ids = [next(sms_first) for _ in range(accounts)]
        for number, account_id in enumerate(ids):
            book.add(account_id, today - timedelta(days=5), mobile_phone=f"+1212555{number % 10}{round_number}97")
        book.write()
        ref = pipeline.segment(pipeline.pull(today, f"bench__{round_number}", settings), settings)
        pipeline.dispatch_due(pipeline.plan(ref, "m1_self_service", settings), settings, now=send_at)

        def fallbacks_sent(ids=ids):
            query = select(attempts.c.account_id).where(attempts.c.account_id.in_(ids), attempts.c.channel == "email")
            with ledger.engine.connect() as conn:
                return len(conn.execute(query).all()) == len(ids)

        wait(fallbacks_sent, 300, f"round {round_number + 1}'s fallbacks")
        with ledger.engine.connect() as conn:
            for account_id in ids:
                recorded = conn.execute(
                    select(events.c.recorded_at).where(
                        events.c.account_id == account_id, events.c.outcome == "undelivered"
                    )
                ).scalar()
                planned = conn.execute(
                    select(planned_steps.c.planned_at).where(
                        planned_steps.c.account_id == account_id, planned_steps.c.channel == "email"
                    )
                ).scalar()
                sent = conn.execute(
                    select(attempts.c.claimed_at).where(
                        attempts.c.account_id == account_id, attempts.c.channel == "email"
                    )
                ).scalar()
                to_planned.append((planned - recorded).total_seconds())
                to_sent.append((sent - recorded).total_seconds())
        sandbox.reset()
    ledger.dispose()
    return to_planned, to_sent


def wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


if __name__ == "__main__":
    raise SystemExit(main())
