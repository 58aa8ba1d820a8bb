"""The ops view's daily rollups count what the ledger holds: contacts, replies, opt-outs and payments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from outreach import pipeline
from outreach.events import record_reply
from outreach.payments import PaymentNotice, record_payment
from outreach.rollups import rollup_day
from tests.days import Book, run_day

DAY = date(2026, 11, 20)
NEW_YORK = ZoneInfo("America/New_York")


def test_a_day_is_rolled_up_per_bucket_channel_and_variant(ledger, settings_for, tmp_path):
    book = Book(tmp_path / "accounts.csv")
    for n in range(1, 5):
        book.add(f"AC0000{n}", DAY - timedelta(days=5), mobile_phone=f"+1212555014{n}")
    book.write()
    settings = settings_for(ledger, book.path)
    run_day(settings, DAY, campaigns=("m1_self_service",))
    day = pipeline.business_day(DAY, "America/New_York")
    texted = ledger.attempts_for(DAY).query("channel == 'sms'")["account_id"].tolist()
    assert texted, "the sms-first arm got texts"
    # A reply that opts out on the business day; a payment later, after the text went.
    record_reply(ledger, texted[0], "sms", "+12125550141", "STOP", day.start + timedelta(hours=20))
    paid_at = datetime.now(UTC) + timedelta(minutes=1)  # sends are stamped with the real clock
    notice = {"payment_id": "P-9", "account_id": texted[0], "amount": "80.00", "currency": "USD"}
    record_payment(
        ledger, PaymentNotice.model_validate({**notice, "paid_at": paid_at.isoformat()}), paid_at, "America/New_York"
    )

    funnel, held = rollup_day(ledger, "m1_self_service", day)
    steps = ledger.steps(DAY, campaign="m1_self_service")
    assert funnel["planned"].sum() == len(steps)
    assert funnel["sent"].sum() == len(ledger.attempts_for(DAY).query("status != 'failed'"))
    assert set(funnel["variant"]) <= {"sms_first", "email_first"}
    sms = funnel[funnel["channel"] == "sms"].sum(numeric_only=True)
    assert (sms["replied"], sms["opted_out"]) == (1, 1)
    assert held["steps"].sum() == int(steps["status"].isin(["held", "expired"]).sum())
    assert (funnel["held"].sum(), funnel["expired"].sum()) == (
        int((steps["status"] == "held").sum()),
        int((steps["status"] == "expired").sum()),
    )

    # The payment counts on its own day, for the text it is credited to.
    payment_day = pipeline.business_day(paid_at.astimezone(NEW_YORK).date(), "America/New_York")
    later, _ = rollup_day(ledger, "m1_self_service", payment_day)
    paid = later[later["paid"] > 0]
    assert paid[["channel", "paid", "recovered_minor"]].to_dict("records") == [
        {"channel": "sms", "paid": 1, "recovered_minor": 8_000}
    ]
