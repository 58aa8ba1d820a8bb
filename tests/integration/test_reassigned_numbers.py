"""Before the day is planned the Reassigned Numbers Database is asked about the numbers texted or
autodialled with consent; its answers are kept as evidence and the plan acts on them."""

from datetime import date

from outreach import pipeline
from outreach.sample import write_sample
from tests.days import plan_all

DAY = date(2026, 11, 20)


def test_each_consented_number_is_asked_about_once_and_a_reassigned_one_is_not_texted(
    ledger, settings_for, tmp_path, sandbox, monkeypatch
):
    book = tmp_path / "accounts.csv"
    write_sample(book, DAY, accounts=300)
    settings = settings_for(ledger, book)
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", sandbox.url)
    ref = pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings)
    snapshot = ledger.snapshot(DAY)
    plan_all(ref, settings)
    texted = ledger.steps(DAY, statuses=["pending"]).query("channel == 'sms'").iloc[0]
    asked = sandbox.requests("rnd")
    numbers = {q["tn"] for r in asked for q in r["payload"]["queries"]}
    consented = snapshot[
        (snapshot["country"] == "US")
        & snapshot["mobile_phone"].notna()
        & (snapshot["consent_sms"] | snapshot["consent_voice"])
    ]
    assert numbers == set(consented["mobile_phone"]), "every US consented mobile, and nothing else"
    assert texted["contact_address"] in numbers

    with ledger.engine.begin() as conn:
        from outreach.ledger.schema import events

        evidence = conn.execute(events.select().where(events.c.kind == "number_check")).mappings().all()
    assert len(evidence) == len(numbers) and {e["outcome"] for e in evidence} <= {"yes", "no", "no_data"}
    # Never asked before and no consent date on file: asked about the last five years.
    assert all(e["payload"]["since"] == "2021-11-21" and e["payload"]["source"] for e in evidence)

    # The same day planned again asks nothing: every answer is fresh.
    plan_all(ref, settings)
    assert len(sandbox.requests("rnd")) == len(asked)


def test_a_number_reported_reassigned_is_held_with_the_reason(ledger, settings_for, tmp_path, sandbox, monkeypatch):
    import pandas as pd

    book = tmp_path / "accounts.csv"
    write_sample(book, DAY, accounts=300)
    accounts = pd.read_csv(book, dtype=str, keep_default_na=False)
    us_texted = (accounts["country"] == "US") & (accounts["mobile_phone"] != "") & (accounts["consent_sms"] == "yes")
    targets = accounts.index[us_texted][:20]
    accounts.loc[targets, "mobile_phone"] = accounts.loc[targets, "mobile_phone"].str[:-2] + "88"
    accounts.to_csv(book, index=False)
    settings = settings_for(ledger, book)
    monkeypatch.setenv("OUTREACH_SANDBOX_URL", sandbox.url)
    plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    steps = ledger.steps(DAY)
    reassigned = set(accounts.loc[targets, "mobile_phone"])
    automated = steps[steps["contact_address"].isin(reassigned) & steps["channel"].isin(["sms", "voice"])]
    assert not automated.empty and (automated["status"] == "held").all()
    assert automated["rule_ids"].str.contains("tcpa.reassigned_number").all()
    assert automated["status_reason"].str.contains("Reassigned Numbers Database").all()
    others = steps[~steps["contact_address"].isin(reassigned) & (steps["channel"] == "sms")]
    assert (others["status"] == "pending").any(), "the rest of the book is texted as before"


def test_the_day_is_planned_when_the_database_does_not_answer(ledger, settings_for, tmp_path, monkeypatch, caplog):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    book = tmp_path / "accounts.csv"
    write_sample(book, DAY, accounts=100)
    settings = settings_for(ledger, book)
    monkeypatch.setenv("OUTREACH_RND_URL", f"http://127.0.0.1:{closed_port}")
    ref = plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    assert ref["planned"] > 0
    assert "the Reassigned Numbers Database did not answer" in caplog.text
    with ledger.engine.connect() as conn:
        from outreach.ledger.schema import events

        assert not conn.execute(events.select().where(events.c.kind == "number_check")).first()
