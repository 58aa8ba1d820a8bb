"""A dispatch reads the book a round of steps at a time: it sends exactly what one pass over the whole
book sends, and never holds more than a round's accounts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from outreach import dispatcher, pipeline
from outreach.dispatcher import AccountsOnDay
from outreach.ledger import Ledger
from tests.days import planned_sample_day

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
ROUND = 25


def sent(ledger: Ledger) -> set[tuple[str, str]]:
    attempts = ledger.attempts_for(DAY)
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
    twin.dispose()
