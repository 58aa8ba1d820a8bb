"""Dispatch benchmark: throughput and rate-limit accuracy against the provider sandbox.

    .venv/bin/python bench/dispatch.py --texts 2000 --emails 10000 --rate 100

Starts the sandbox on a loopback port, plans a day in which every account is due
a text (or an email), and dispatches it through the real SDKs with ledger writes:
  1. texts, unthrottled: messages per second per worker and CPU per message;
  2. texts at --rate per second: achieved / configured, and the busiest one-second window;
  3. emails, unthrottled: messages per second (1000 recipients per request).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUSINESS_DATE = date(2026, 11, 20)  # a Friday
NOON_NEW_YORK = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def book(path: Path, accounts: int, dpd: int) -> None:
    from outreach.sample import sample_frame

    frame = sample_frame(accounts, BUSINESS_DATE, varied_numbers=True)
    frame["oldest_unpaid_due_date"] = (BUSINESS_DATE - timedelta(days=dpd)).isoformat()
    frame["country"], frame["region"], frame["currency"], frame["locale"] = "US", "NY", "USD", "en"
    frame["mobile_phone"] = "+1212" + frame["mobile_phone"].str[-7:].where(frame["mobile_phone"] != "", "5550142")
    frame["stated_timezone"], frame["flags"], frame["email"] = "", "", "user" + frame.index.astype(str) + "@example.com"
    frame["consent_sms"] = frame["consent_email"] = "yes"
    frame.to_csv(path, index=False)


def run(kind: str, accounts: int, rate: float, sandbox_url: str, work: Path) -> dict:
    from outreach import pipeline
    from outreach.settings import Settings

    home = work / f"{kind}-{rate}"
    accounts_file = home / "accounts.csv"
    home.mkdir(parents=True)
    book(accounts_file, accounts, 1 if kind == "sms" else 3)
    settings = Settings(
        home=home,
        ledger_url=f"sqlite:///{home / 'ledger.db'}",
        accounts_file=accounts_file,
        timezone="America/New_York",
        channel_set="sandbox",
    )
    os.environ.update(
        {
            "OUTREACH_SANDBOX_URL": sandbox_url,
            "OUTREACH_SMS_PER_SECOND": str(rate),
            "OUTREACH_MAIL_REQUESTS_PER_SECOND": "1000",
            "OUTREACH_SEND_CONCURRENCY": "8",
        }
    )
    ref = pipeline.segment(pipeline.pull(BUSINESS_DATE, kind, settings), settings)
    for campaign in ("m1_self_service", "m2_plus"):
        pipeline.plan(ref, campaign, settings)
    cpu, wall = time.process_time(), time.perf_counter()
    result = pipeline.dispatch_due(ref, settings, now=NOON_NEW_YORK)["dispatch"]
    return {
        "sent": result["sent"],
        "failed": result["failed"],
        "seconds": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
    }


def busiest_second(timestamps: list[float]) -> int:
    counts = Counter(int(t) for t in timestamps)
    return max(counts.values()) if counts else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--emails", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=100.0, help="the configured texts per second for run 2")
    args = parser.parse_args()

    import logging
    import socket
    import subprocess

    import httpx

    logging.basicConfig(level=logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    # The sandbox runs in its own process, so the CPU measured here is the dispatcher's alone.
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "sandbox", "--port", str(port)], stdout=subprocess.DEVNULL
    )
    control = httpx.Client(base_url=url, timeout=60)
    for _ in range(200):
        try:
            control.get("/health")
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as scratch:
        work = Path(scratch)

        free = run("sms", args.texts, 100000, url, work)
        control.post("/_sandbox/reset")
        limited = run("sms", args.texts, args.rate, url, work)
        stamps = [r["at"] for r in control.get("/_sandbox/requests", params={"provider": "twilio"}).json()]
        control.post("/_sandbox/reset")
        mail = run("email", args.emails, 100000, url, work)
    sandbox.terminate()
    sandbox.wait(timeout=10)

    achieved = len(stamps) / (max(stamps) - min(stamps)) if len(stamps) > 1 else 0.0
    print(f"machine: {os.cpu_count()} cores; one worker, 8 sending threads; ledger SQLite; sandbox on loopback")
    print(
        f"texts, unthrottled:   {free['sent']:,} sent in {free['seconds']:.2f} s = "
        f"{free['sent'] / free['seconds']:,.0f} msg/s; CPU {1000 * free['cpu'] / max(1, free['sent']):.2f} ms/msg "
        f"(dispatch process)"
    )
    print(
        f"texts at {args.rate:g}/s:       {limited['sent']:,} sent in {limited['seconds']:.2f} s; achieved "
        f"{achieved:,.1f}/s = {100 * achieved / args.rate:.1f}% of configured; busiest second "
        f"{busiest_second(stamps)} requests"
    )
    mail_rate, text_rate = mail["sent"] / mail["seconds"], free["sent"] / free["seconds"]
    print(
        f"emails, unthrottled:  {mail['sent']:,} sent in {mail['seconds']:.2f} s = {mail_rate:,.0f} msg/s "
        f"({mail_rate / text_rate:.1f}x unthrottled texts, {mail_rate / args.rate:.0f}x the {args.rate:g}/s text rate)"
    )


if __name__ == "__main__":
    main()
