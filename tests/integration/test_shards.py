"""A day planned and dispatched in shards of the book, each planned in rounds, is the same day as one
pass over the whole book: the same steps with the same decisions and reasons, the same ladder moves,
the same sends, on the first day and on the next (whose caps read the first day's contacts)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import text

from outreach import pipeline
from outreach.campaigns import load_campaign
from outreach.ledger import Ledger
from outreach.sample import write_sample
from outreach.settings import SHIPPED_CAMPAIGNS, Settings
from outreach.shards import Shard, account_hash, all_shards
from tests.days import CAMPAIGNS, drive_waves

FIRST_DAY, NEXT_DAY = date(2026, 11, 19), date(2026, 11, 20)
SHARDS = 3


def test_every_account_is_in_exactly_one_shard_and_always_the_same_one():
    accounts = [f"AC{n:08d}" for n in range(3000)]
    shards = all_shards(4)
    owners = [[s.index for s in shards if s.holds(a)] for a in accounts]
    assert all(len(found) == 1 for found in owners)
    sizes = [sum(1 for found in owners if found == [s.index]) for s in shards]
    assert min(sizes) > 600, f"a stable hash spreads the book evenly: {sizes}"
    # CRC-32: the same on every machine and in every process (Python's own hash() is not).
    assert account_hash("AC00000042") == 1_520_815_464
    assert Shard.of({}) == Shard() and Shard().whole and str(Shard(1, 4)) == "shard 2 of 4"
    with pytest.raises(ValueError):
        Shard(4, 4)


def test_the_rounds_of_a_shard_hold_each_of_its_accounts_once():
    accounts = [f"AC{n:08d}" for n in range(3000)]
    shard = Shard(1, 4)
    held = sum(shard.holds(a) for a in accounts)
    rounds = shard.rounds(held, 200)
    assert len(rounds) == -(-held // 200)
    for account in accounts:
        assert sum(part.holds(account) for part in rounds) == (1 if shard.holds(account) else 0)
    assert shard.rounds(0, 200) == [shard] and Shard().rounds(5, 200) == [Shard()]


def run_day(settings: Settings, day: date) -> dict[str, dict]:
    """Pull and segment the day, then each campaign's plan and waves, a task per shard as the DAG has them."""
    write_sample(settings.accounts_file, day, accounts=240)
    ref = pipeline.segment(pipeline.pull(day, f"scheduled__{day}", settings), settings)
    days = {}
    for campaign_id in CAMPAIGNS:
        planned = [pipeline.plan(shard_ref, campaign_id, settings) for shard_ref in pipeline.shard_refs(ref, settings)]
        days[campaign_id] = pipeline.day_planned(planned)
        scheduled = load_campaign(SHIPPED_CAMPAIGNS / f"{campaign_id}.yaml").scheduled_at(day)
        for shard_ref in planned:
            drive_waves(shard_ref, settings, scheduled)
    return days


def ledger_day(ledger: Ledger) -> dict[str, set]:
    """What a compliance officer and ops read of the day: steps, decisions with reasons, ladders, sends."""
    queries = {
        "steps": "SELECT step_key, decision, rule_ids, reason, status, status_reason, window_start FROM planned_steps",
        "decisions": "SELECT account_id, step_key, actor, decision, rule_ids, reason FROM decisions",
        "ladders": "SELECT account_id, campaign, stage, status, status_reason FROM ladder_states",
        "sends": "SELECT step_key, channel, status FROM attempts",
        "handoffs": "SELECT step_key, kind, status FROM handoffs",
    }
    with ledger.engine.connect() as conn:
        return {name: sorted(map(plain, conn.execute(text(query)).all()), key=repr) for name, query in queries.items()}


def plain(row) -> tuple:
    """A row as either database gives it back: instants in UTC (SQLite hands them back as text)."""
    return tuple(
        pd.Timestamp(value).tz_localize(None) if isinstance(value, datetime) or _instant(value) else value
        for value in (v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo else v for v in row)
    )


def _instant(value) -> bool:
    return isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == " " and value[13] == ":"


def test_a_day_in_shards_is_the_day_of_one_pass_over_the_book(ledger, settings_for, tmp_path):
    twin = Ledger.from_url(f"sqlite:///{tmp_path / 'one-pass.db'}")
    twin.create_schema()
    one_pass = replace(settings_for(twin, tmp_path / "one-pass.csv"), home=tmp_path / "one-pass")
    # Each shard of about 80 accounts is planned in rounds of at most about 30: a round is planned like a shard.
    sharded = replace(settings_for(ledger, tmp_path / "sharded.csv"), shards=SHARDS, plan_round_accounts=30)

    for day in (FIRST_DAY, NEXT_DAY):
        whole = run_day(one_pass, day)
        in_shards = run_day(sharded, day)
        assert in_shards["m1_self_service"]["shards"] == SHARDS
        assert whole["m1_self_service"]["rounds"] == 1 and in_shards["m1_self_service"]["rounds"] >= 2 * SHARDS
        for campaign_id in CAMPAIGNS:
            assert in_shards[campaign_id]["planned"] == whole[campaign_id]["planned"]
            assert in_shards[campaign_id]["decisions"] == whole[campaign_id]["decisions"]
        expected, found = ledger_day(twin), ledger_day(ledger)
        assert found["sends"], "the day sent something"
        for name in expected:
            assert found[name] == expected[name], f"{name} differ on {day}"

    waves = ledger.waves(FIRST_DAY, "m1_self_service")
    assert set(waves["shard"].astype(int)) == set(range(SHARDS)) and set(waves["shards"].astype(int)) == {SHARDS}
    sent_by_shard = waves.groupby(waves["shard"].astype(int))["sent"].sum()
    assert (sent_by_shard > 0).all(), f"each shard sends its own accounts: {sent_by_shard.to_dict()}"
    with ledger.engine.connect() as conn:
        stored = conn.execute(text("SELECT account_id, account_hash FROM planned_steps")).all()
    assert stored and all(hashed == account_hash(account) for account, hashed in stored)
    twin.dispose()


def test_each_shards_task_reads_the_sends_of_its_own_accounts_and_no_others(ledger, settings_for, tmp_path):
    run_day(replace(settings_for(ledger, tmp_path / "book.csv"), shards=SHARDS), FIRST_DAY)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    every_send = ledger.contact_events(since).query("kind == 'attempt'")
    by_shard = {
        shard: ledger.contact_events(since, shard=shard).query("kind == 'attempt'") for shard in all_shards(SHARDS)
    }
    for shard, sends in by_shard.items():
        assert not sends.empty and all(shard.holds(account) for account in sends["account_id"]), shard
    assert sum(len(sends) for sends in by_shard.values()) == len(every_send)
