"""A reply recorded in the ledger changes the next dispatch at once."""

from datetime import UTC, date, datetime

from outreach import pipeline
from outreach.events import record_reply
from outreach.sample import write_sample
from tests.days import plan_all

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def planned(ledger, settings_for, tmp_path):
    book = tmp_path / "accounts.csv"
    write_sample(book, DAY, accounts=300)
    settings = settings_for(ledger, book)
    ref = plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    return settings, ref


def test_stop_holds_the_text_and_start_reopens_it_but_never_lifts_a_dispute(ledger, settings_for, tmp_path):
    settings, ref = planned(ledger, settings_for, tmp_path)
    step = ledger.steps(DAY, statuses=["pending"]).query("channel == 'sms'").iloc[0]
    account_id, number = step["account_id"], step["contact_address"]

    record_reply(ledger, account_id, "sms", number, "please stop texting me", datetime(2026, 11, 20, 16, tzinfo=UTC))
    pipeline.dispatch_due(ref, settings, now=NOON)
    held = ledger.steps(DAY).set_index("step_key").loc[step["step_key"]]
    assert held["status"] == "held" and "opted out" in held["status_reason"]

    record_reply(ledger, account_id, "sms", number, "I dispute this", datetime(2026, 11, 20, 16, 30, tzinfo=UTC))
    record_reply(ledger, account_id, "sms", number, "START", datetime(2026, 11, 20, 16, 45, tzinfo=UTC))
    active = ledger.active_suppressions(NOON)
    reasons = set(active.loc[active["account_id"] == account_id, "reason"])
    assert reasons == {"dispute"}, "START lifts only the SMS opt-out and the revocation on that number"
