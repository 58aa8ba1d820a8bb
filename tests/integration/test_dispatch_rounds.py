"""A dispatch reads the book a round of steps at a time: it sends exactly what one pass over the whole
book sends, and never holds more than a round's accounts. The second day's decisions read the first
day's contacts (caps, numbers checked), a round's worth at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from outreach import dispatcher, pipeline
from outreach.dispatcher import AccountsOnDay
from outreach.ledger import Ledger
from tests.days import planned_sample_day

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
NEXT_DAY = date(2026, 11, 21)
NEXT_NOON = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
ROUND = 25


def sent(ledger: Ledger, day: date = DAY) -> set[tuple[str, str]]:
    attempts = ledger.attempts_for(day)
    return set(zip(attempts["step_key"], attempts["status"], strict=True))


def test_a_dispatch_in_rounds_sends_what_one_pass_sends_holding_one_round_of_accounts(
    ledger, settings_for, tmp_path, monkeypatch
):
    twin = Ledger.from_url(f"sqlite:///{tmp_path / 'twin.db'}")
    twin.create_schema()
    one_pass = replace(settings_for(twin, tmp_path / "twin.csv"), home=tmp_path / "twin-home")
    pipeline.dispatch_due(planned_sample_day(one_pass, DAY), one_pass, now=NOON)

    held: list[int] = []
    forget = AccountsOnDay.forget

    def counted(self: AccountsOnDay) -> None:
        held.append(len(self))
        forget(self)

    monkeypatch.setattr(AccountsOnDay, "forget", counted)
    monkeypatch.setattr(dispatcher, "STEPS_PER_ROUND", ROUND)
    in_rounds = settings_for(ledger, tmp_path / "accounts.csv")
    summary = pipeline.dispatch_due(planned_sample_day(in_rounds, DAY), in_rounds, now=NOON)["dispatch"]

    assert summary["sent"] > ROUND * 2, "the day needs several rounds"
    assert len(held) > 2 and max(held) <= ROUND, "no round holds more accounts than it has steps"
    assert sent(ledger) == sent(twin)

    pipeline.dispatch_due(planned_sample_day(one_pass, NEXT_DAY), one_pass, now=NEXT_NOON)
    pipeline.dispatch_due(planned_sample_day(in_rounds, NEXT_DAY), in_rounds, now=NEXT_NOON)
    assert sent(ledger, NEXT_DAY) and sent(ledger, NEXT_DAY) == sent(twin, NEXT_DAY)
    steps, twin_steps = ledger.steps(NEXT_DAY), twin.steps(NEXT_DAY)
    decided = dict(zip(steps["step_key"], steps["status"], strict=True))
    assert decided == dict(zip(twin_steps["step_key"], twin_steps["status"], strict=True))
    twin.dispose()


@pytest.mark.parametrize("asked_for", ["this account", "another account"])
def test_a_round_reads_what_was_learned_about_its_accounts_and_numbers(
    asked_for, ledger, settings_for, tmp_path, monkeypatch
):
    """A database answer that a number was reassigned holds the account's text at send time, whether it
    was asked for this account or for another one that is in no round of the dispatch."""
    monkeypatch.setattr(dispatcher, "STEPS_PER_ROUND", ROUND)
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    ref = planned_sample_day(settings, DAY)
    steps = ledger.steps(DAY, statuses=["pending"])
    texts = steps[(steps["channel"] == "sms") & steps["contact_address"].str.startswith("+1", na=False)]
    step = texts.iloc[len(texts) // 2]
    ledger.record_number_checks(
        [
            {
                "account_id": step["account_id"] if asked_for == "this account" else "ANOTHER-ACCOUNT",
                "number": step["contact_address"],
                "since": DAY - timedelta(days=400),
                "answer": "yes",
                "checked_at": NOON - timedelta(hours=1),
                "source": "test",
            }
        ]
    )
    pipeline.dispatch_due(ref, settings, now=NOON)
    after = ledger.steps(DAY).set_index("step_key").loc[step["step_key"]]
    assert after["status"] == "held" and "reassigned" in after["status_reason"].lower()
