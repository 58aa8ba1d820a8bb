"""Webhook throughput: signed Twilio status callbacks into Airflow's API server, recorded once each.

    .venv/bin/python bench/webhooks.py --accounts 3000 --concurrency 64

Starts Airflow's API server (with the plugin), scheduler, DAG processor and triggerer on
fresh PostgreSQL databases (the machine's server, OUTREACH_TEST_POSTGRES_URL), with the
events DAG unpaused, as in production. It dispatches a sample day (log channel) so every
text and call has a step and a ref, then posts each one's "sent" and "delivered" (or
"completed") callbacks, signed as Twilio signs them, at --concurrency requests in flight,
with every tenth callback posted twice (a provider retry), after one request has warmed the
server up (Airflow builds its execution API on the first request there). Meanwhile it asks the API
server's health endpoint and the Collections page's API every 200 ms, as the UI would.

Prints callbacks per second, latency percentiles, the events recorded against the unique
callbacks sent (exactly once), and what the UI's requests took meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUSINESS_DATE_NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
TOKEN = "bench-twilio-auth-token"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--server",
        choices=["plugin", "service"],
        default="plugin",
        help="plugin: the callbacks go to Airflow's API server; service: to plugins/outreach_webhooks.py under uvicorn",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes of the server the callbacks go to")
    parser.add_argument(
        "--events-dag",
        choices=["unpaused", "paused"],
        default="unpaused",
        help="paused: measure the API server alone, without the events DAG's runs competing for the CPUs",
    )
    args = parser.parse_args()

    from tests.servers import free_port
    from tests.stack import api_url, fresh_databases, running_airflow, stack_environment

    work = Path(tempfile.mkdtemp(prefix="webhooks-"))
    with fresh_databases("bench") as (airflow_db, ledger_db):
        env = stack_environment(work, airflow_db, ledger_db, "LocalExecutor")
        service_port = free_port()
        env.update(
            {
                "TWILIO_AUTH_TOKEN": TOKEN,
                "AIRFLOW__API__WORKERS": str(args.workers if args.server == "plugin" else 1),
                "OUTREACH_CALLBACK_BASE_URL": api_url(env)
                if args.server == "plugin"
                else f"http://127.0.0.1:{service_port}",
                "OUTREACH_ACCOUNTS_FILE": str(work / "accounts.csv"),
            }
        )
        # The DAG the stack unpauses: the events DAG as in production, or one that never runs here.
        unpaused = "outreach_events" if args.events_dag == "unpaused" else "manual_escalation"
        with running_airflow(env, work / "logs", unpaused) as api:
            callbacks = prepare(env, args.accounts)
            with webhook_service(env, service_port, args.workers, work) if args.server == "service" else nullcontext():
                result = asyncio.run(fire(api, env["OUTREACH_CALLBACK_BASE_URL"], callbacks, args.concurrency))
            recorded = recorded_events(env)
    unique = len({(c["form"].get("MessageSid") or c["form"]["CallSid"], status_of(c)) for c in callbacks})
    latencies = sorted(result["latencies"])
    print(
        f"{len(callbacks):,} signed callbacks ({unique:,} unique), {args.concurrency} in flight, "
        f"events DAG {args.events_dag}, callbacks to the {args.server} ({args.workers} worker(s))"
    )
    print(f"  machine          {os.cpu_count()} CPUs; load generator, Airflow and PostgreSQL share them")
    print(f"  throughput       {len(callbacks) / result['elapsed']:8.0f} callbacks/s over {result['elapsed']:.1f} s")
    print(
        f"  latency          p50 {percentile(latencies, 50):6.1f} ms   p95 {percentile(latencies, 95):6.1f} ms   "
        f"p99 {percentile(latencies, 99):6.1f} ms   max {latencies[-1]:6.1f} ms"
    )
    print(f"  answers          {dict(sorted(result['statuses'].items(), key=str))}")
    once = "yes" if recorded == unique else "NO"
    print(f"  recorded         {recorded:,} events for {unique:,} unique callbacks (exactly once: {once})")
    ui = sorted(result["ui"])
    if ui:
        print(
            f"  UI meanwhile     {len(ui)} requests, median {statistics.median(ui):6.1f} ms, "
            f"p95 {percentile(ui, 95):6.1f} ms, max {ui[-1]:6.1f} ms"
        )
    return 0 if recorded == unique else 1


@contextmanager
def webhook_service(env: dict[str, str], port: int, workers: int, work: Path) -> Iterator[None]:
    """plugins/outreach_webhooks.py under uvicorn, as the compose file's outreach-webhooks service runs it."""
    import httpx

    from tests.stack import stop

    project = Path(__file__).resolve().parents[1]
    command = [str(project / ".venv/bin/uvicorn"), "outreach_webhooks:app", "--app-dir", str(project / "plugins")]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    server = subprocess.Popen(
        command,
        env={**env, "PYTHONPATH": str(project)},
        stdout=(work / "webhooks.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/outreach/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the webhook service did not start; see {work / 'webhooks.log'}")
        time.sleep(0.5)
    try:
        yield
    finally:
        stop([server])


def status_of(callback: dict) -> str:
    return callback["form"].get("MessageStatus") or callback["form"]["CallStatus"]


def percentile(values: list[float], pct: float) -> float:
    return values[min(len(values) - 1, int(len(values) * pct / 100))] if values else float("nan")


def prepare(env: dict[str, str], accounts: int) -> list[dict]:
    """A dispatched sample day; for each text and call, its callbacks as Twilio would post them."""
    from sqlalchemy import select
    from twilio.request_validator import RequestValidator

    from outreach import pipeline
    from outreach.ledger import Ledger
    from outreach.ledger.schema import attempts, message_refs
    from outreach.settings import Settings
    from tests.days import planned_sample_day

    os.environ.update(env)
    settings = Settings.from_env(env)
    ref = planned_sample_day(settings, BUSINESS_DATE_NOON.date(), accounts)
    pipeline.dispatch_due(ref, settings, now=BUSINESS_DATE_NOON)
    ledger = Ledger.from_url(settings.ledger_url)
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(attempts.c.channel, attempts.c.step_key, message_refs.c.ref)
            .join(message_refs, message_refs.c.step_key == attempts.c.step_key)
            .where(attempts.c.channel.in_(["sms", "voice"]))
        ).all()
    ledger.dispose()
    validator = RequestValidator(TOKEN)
    base = env["OUTREACH_CALLBACK_BASE_URL"]
    callbacks = []
    for number, (channel, _, message_ref) in enumerate(rows):
        if channel == "sms":
            path = "outreach/twilio/status"
            forms = [
                {"MessageSid": f"SM{number:032d}", "MessageStatus": status, "AccountSid": "ACbench"}
                for status in ("sent", "delivered")
            ]
        else:
            path = "outreach/twilio/call-status"
            forms = [
                {"CallSid": f"CA{number:032d}", "CallStatus": status, "AccountSid": "ACbench", "AnsweredBy": "human"}
                for status in ("initiated", "completed")
            ]
        url = f"{base}/{path}?step={quote(message_ref, safe='')}"
        for form in forms:
            callback = {"url": url, "form": form, "signature": validator.compute_signature(url, form)}
            callbacks.append(callback)
            if len(callbacks) % 10 == 0:
                callbacks.append(callback)  # the provider retries it
    return callbacks


def request_bytes(callback: dict) -> bytes:
    """The callback as Twilio's HTTP/1.1 request, built once (the load generator must not be the bottleneck)."""
    from urllib.parse import urlencode, urlsplit

    url = urlsplit(callback["url"])
    body = urlencode(callback["form"]).encode()
    head = (
        f"POST {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {callback['signature']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def fire(api: str, target: str, callbacks: list[dict], concurrency: int) -> dict:
    """Post the callbacks to ``target`` while the UI's requests go to Airflow's API server at ``api``."""
    import httpx

    host, port = target.rsplit("//", 1)[1].split(":")
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for callback in callbacks:
        queue.put_nowait(request_bytes(callback))
    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    ui: list[float] = []
    done = asyncio.Event()

    async def worker() -> None:
        reader = writer = None
        while not queue.empty():
            request = queue.get_nowait()
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(request)
                status_line = await reader.readline()
                length, closing = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    closing |= name.lower() == "connection" and value.strip().lower() == "close"
                await reader.readexactly(length)
                answer: int | str = int(status_line.split()[1])
                if closing:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, IndexError) as exc:  # Twilio would retry
                answer = type(exc).__name__
                queue.put_nowait(request)
                reader = writer = None
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[answer] = statuses.get(answer, 0) + 1
        if writer is not None:
            writer.close()

    async def ui_probe() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            while not done.is_set():
                for path in ("/api/v2/monitor/health", "/outreach/health"):
                    started = time.perf_counter()
                    try:
                        await client.get(api + path)
                    except httpx.TransportError:
                        continue
                    ui.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.2)

    async with httpx.AsyncClient(timeout=120) as client:
        # A server just started builds Airflow's execution API on its first request there (seconds of
        # CPU on the event loop); the first callback reads the Twilio token. Neither is steady state.
        await client.get(api + "/execution/health")
        await client.get(target + "/outreach/health")
        first = callbacks[0]
        await client.post(first["url"], data=first["form"], headers={"X-Twilio-Signature": first["signature"]})
    probe = asyncio.create_task(ui_probe())
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    done.set()
    await probe
    return {"latencies": latencies, "statuses": statuses, "elapsed": elapsed, "ui": ui}


def recorded_events(env: dict[str, str]) -> int:
    from sqlalchemy import func, select

    from outreach.ledger import Ledger
    from outreach.ledger.schema import events

    ledger = Ledger.from_url(env["OUTREACH_LEDGER_URL"])
    with ledger.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(events).where(events.c.kind == "delivery")).scalar()
    ledger.dispose()
    return int(count)


if __name__ == "__main__":
    raise SystemExit(main())
