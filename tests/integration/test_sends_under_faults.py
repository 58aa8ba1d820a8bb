"""Sends under faults, through the real SDKs to the sandbox: a provider that answers after the
client's timeout, a text interrupted on a number another account shares, a second dispatcher
while the first is still sending, and a provider refusing for a while. Each step reaches the
provider at most once, and nothing is dropped."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from outreach import ops_view, pipeline
from outreach.ledger.ref_records import content_digest
from outreach.ledger.schema import message_refs
from outreach.reconcile import FOR_A_PERSON
from outreach.report import build_report, format_report
from tests.days import FAST_PROVIDERS, Book, dispatch_in_a_process, plan_all, planned_sample_day
from tests.servers import DelayingProxy, receiver_app, serve

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


@pytest.fixture
def settings(ledger, settings_for, tmp_path, sandbox, monkeypatch):
    for key, value in {**FAST_PROVIDERS, "OUTREACH_SANDBOX_URL": sandbox.url}.items():
        monkeypatch.setenv(key, value)
    base = settings_for(ledger, tmp_path / "accounts.csv")
    return replace(base, channel_set="sandbox", reconcile_after=0.0)


@pytest.fixture
def callbacks_received(monkeypatch):
    """Calls need a callback URL to be placed; what comes back is kept here, not applied."""
    app, received = receiver_app()
    with serve(app) as url:
        monkeypatch.setenv("OUTREACH_CALLBACK_BASE_URL", url)
        yield received


def provider_contacts(sandbox) -> Counter[tuple[str, str]]:
    """Each message and call the providers accepted, by recipient and content (texts and emails carry
    their own ref in their words, calls in their voice URL)."""
    contacts: Counter[tuple[str, str]] = Counter()
    for request in sandbox.accepted("twilio"):
        payload = request["payload"]
        contacts[(payload["To"], payload.get("Body") or payload.get("Url"))] += 1
    for request in sandbox.accepted("sendgrid"):
        for person in request["payload"]["personalizations"]:
            contacts[(person["to"][0]["email"], person["substitutions"]["{{body}}"])] += 1
    return contacts


def test_a_send_answered_after_the_timeout_is_never_repeated_and_is_resolved(
    settings, ledger, sandbox, callbacks_received, monkeypatch
):
    ref = planned_sample_day(settings, DAY, accounts=80)
    proxy = DelayingProxy(sandbox.url, delay=1.0)
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", proxy.url)
    monkeypatch.setenv("OUTREACH_PROVIDER_TIMEOUT_SECONDS", "0.3")
    try:
        first = pipeline.dispatch_due(ref, settings, now=NOON)["dispatch"]
        sandbox.flush()
        reached = provider_contacts(sandbox)
        attempts = ledger.attempts_for(DAY)
        went = attempts[attempts["channel"].isin(["sms", "voice", "email"])]
        assert len(went) > 20 and first["unknown"] == len(went) == sum(reached.values())
        assert set(went["status"]) == {"unknown"}, "an answer that never came is neither sent nor failed"
        assert max(reached.values()) == 1, "a request that may have been accepted is never repeated"

        # The next wave, the provider answering again: texts are found by their exact words and
        # adopted; calls and emails, which the providers cannot look up, wait for a person.
        proxy.delay = 0
        second = pipeline.dispatch_due({**ref, "run_id": "next wave"}, settings, now=NOON + timedelta(minutes=20))
    finally:
        proxy.close()
    assert provider_contacts(sandbox) == reached, "nobody was contacted again"
    assert second["dispatch"]["sent"] == 0
    attempts = ledger.attempts_for(DAY).set_index("step_key")
    texts = attempts[attempts["channel"] == "sms"]
    sid_of_words = {content_digest(text["body"]): text["sid"] for text in texts_at_the_provider(sandbox)}
    assert len(texts) and (texts["status"] == "sent").all()
    for step_key, digest in ledger_digests(ledger).items():
        if step_key in texts.index:
            assert texts.loc[step_key, "provider_message_id"] == sid_of_words[digest], "its own text, nobody else's"
    others = attempts[attempts["channel"].isin(["voice", "email"])]
    assert len(others) and (others["status"] == "unknown").all() and (others["error_code"] == FOR_A_PERSON).all()
    steps = ledger.steps(DAY).set_index("step_key")
    assert (steps.loc[others.index, "status"] == "unknown").all()

    shown = ops_view.attention(ledger, DAY, DAY, None)["unknown_sends"]
    assert {row["account_id"] for row in shown} == set(others["account_id"]), "on the Collections page too"
    report = build_report(ledger, ref["run_id"])
    assert report["unknown_for_a_person"] == len(others)
    assert f"needs a person: {len(others):,} interrupted send(s)" in format_report(report)


def ledger_digests(ledger) -> dict[str, str]:
    """The digest of the words each step's message was registered with before it went."""
    with ledger.engine.connect() as conn:
        return dict(conn.execute(select(message_refs.c.step_key, message_refs.c.content_digest)).all())


def texts_at_the_provider(sandbox) -> list[dict]:
    """The texts the sandbox holds, as Twilio's list API returns them."""
    return sandbox.http.get("/2010-04-01/Accounts/ACsandbox/Messages.json").json()["messages"]


def test_an_interrupted_text_is_never_matched_to_another_accounts_text_to_the_same_number(
    settings, ledger, sandbox, tmp_path
):
    book = Book(settings.accounts_file)
    for account_id in ("AC-SHARED-1", "AC-SHARED-2"):
        book.add(account_id, DAY - timedelta(days=6), email="")  # the same mobile number by default
    book.write()
    ref = plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    steps = ledger.steps(DAY, statuses=["pending"])
    texts = steps[steps["channel"] == "sms"].set_index("account_id")
    assert texts.loc["AC-SHARED-1", "contact_address"] == texts.loc["AC-SHARED-2", "contact_address"]

    # The second account's worker dies after its text was rendered and registered, before it went.
    interrupted = texts.loc[["AC-SHARED-2"]].reset_index().to_dict("records")
    ledger.claim(interrupted, "died", lease=timedelta(seconds=-1))
    ledger.register_refs(
        [
            {
                "ref": "interrupted-ref",
                "step_key": interrupted[0]["step_key"],
                "account_id": "AC-SHARED-2",
                "business_date": DAY,
                "content_digest": content_digest("words that never went"),
            }
        ]
    )
    pipeline.dispatch_due(ref, settings, now=NOON)  # the first account's text goes; the second is released
    pipeline.dispatch_due({**ref, "run_id": "again"}, settings, now=NOON)  # and now sent in its turn

    reached = Counter(r["payload"]["Body"] for r in sandbox.accepted("twilio"))
    assert len(reached) == 2 and set(reached.values()) == {1}, "each account's own text, once each"
    attempts = ledger.attempts_for(DAY).set_index("account_id")
    sids = {text["sid"] for text in texts_at_the_provider(sandbox)}
    assert set(attempts.loc[["AC-SHARED-1", "AC-SHARED-2"], "provider_message_id"]) == sids


def test_a_second_dispatcher_never_releases_the_claims_of_a_worker_still_sending(settings, ledger, sandbox):
    ref = planned_sample_day(settings, DAY, accounts=80)
    sandbox.configure(latency_ms=80)
    slow = dispatch_in_a_process(
        settings,
        sandbox.url,
        "slow",
        DAY,
        NOON,
        OUTREACH_SEND_CONCURRENCY="1",
        # Short enough that the competitors come after it would have run out unrenewed.
        OUTREACH_CLAIM_LEASE_SECONDS="3",
        OUTREACH_RECONCILE_AFTER_SECONDS="0",
    )
    try:
        deadline = time.monotonic() + 60
        while len(sandbox.accepted("twilio")) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Claims older than their lease would once have been released: the slow worker renews its own.
        competitors = []
        while slow.poll() is None and len(competitors) < 4:
            time.sleep(1.5)
            competitors.append(
                pipeline.dispatch_due({**ref, "run_id": f"second {len(competitors)}"}, settings, now=NOON)
            )
        assert slow.wait(timeout=120) == 0
    finally:
        slow.kill()
    assert competitors, "the second dispatcher ran while the first was sending"
    assert sum(c["dispatch"]["sent"] for c in competitors) == 0
    reached = provider_contacts(sandbox)
    assert max(reached.values()) == 1, "nobody contacted twice"
    attempts = ledger.attempts_for(DAY)
    assert set(attempts["run_id"]) == {"slow"} and not (attempts["status"] == "claimed").any()


def test_a_send_the_provider_refused_for_now_waits_for_a_later_wave_and_then_goes(
    settings, ledger, sandbox, monkeypatch
):
    monkeypatch.setenv("OUTREACH_SEND_ATTEMPTS", "2")
    ref = planned_sample_day(settings, DAY, accounts=60)
    sandbox.configure(server_error_every=1)
    down = pipeline.dispatch_due(ref, settings, now=NOON)["dispatch"]
    steps = ledger.steps(DAY)
    texts = steps[(steps["channel"] == "sms") & (steps["status"] != "held")].set_index("step_key")
    assert down["requeued"] >= len(texts) > 0 and down["sent"] == 0
    assert (texts["status"] == "pending").all(), "not failed, not dropped: waiting"
    retried = texts[texts["status_reason"].str.contains("the provider did not take it")]
    assert len(retried) > 10
    assert (retried["window_start"] == NOON + timedelta(minutes=settings.transient_retry_minutes)).all()
    claims = ledger.attempts_for(DAY)
    assert not claims["step_key"].isin(retried.index).any(), "no one was contacted, so nothing holds a claim"
    later, waiting = ledger.next_window_opening(DAY, NOON, NOON + timedelta(hours=6), None)
    assert later <= NOON + timedelta(minutes=settings.transient_retry_minutes) and waiting >= len(retried)

    sandbox.configure(server_error_every=0)
    early = pipeline.dispatch_due({**ref, "run_id": "too early"}, settings, now=NOON + timedelta(minutes=5))
    assert early["dispatch"]["sent"] == 0
    back = pipeline.dispatch_due({**ref, "run_id": "later wave"}, settings, now=NOON + timedelta(minutes=30))
    sent = ledger.attempts_for(DAY).set_index("step_key")
    assert back["dispatch"]["sent"] >= len(retried) and (sent.loc[retried.index, "status"] == "sent").all()
    assert max(provider_contacts(sandbox).values()) == 1
