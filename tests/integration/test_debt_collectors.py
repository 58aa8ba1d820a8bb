"""A debt collector's accounts: the validation notice is judged on the ledger's whole record."""

from datetime import date, timedelta

from tests.days import Book, run_day

FIRST_DAY = date(2026, 11, 16)


def test_collection_stops_five_days_after_the_first_communication_without_a_validation_notice(
    ledger, settings_for, tmp_path
):
    book = Book(tmp_path / "accounts.csv")
    book.add("AC70001", FIRST_DAY - timedelta(days=3), collector_type="debt_buyer", mobile_phone="")
    book.add("AC70002", FIRST_DAY - timedelta(days=3), mobile_phone="")  # the bank's own
    settings = settings_for(ledger, book.write())
    run_day(settings, FIRST_DAY)
    first = ledger.attempts_for(FIRST_DAY)
    assert set(first["account_id"]) == {"AC70001", "AC70002"}, "the first communication goes to both"

    # Ten days later, past the 8 days of history the policy reads: the first email is still on record.
    later = FIRST_DAY + timedelta(days=10)
    run_day(settings, later)
    steps = ledger.steps(later)
    buyer = steps[steps["account_id"] == "AC70001"]
    assert not buyer.empty and (buyer["status"] == "held").all()
    assert buyer["rule_ids"].str.contains("regf.validation_notice").all()
    assert buyer["status_reason"].str.contains(f"initial communication was on {FIRST_DAY}").all()
    bank = steps[steps["account_id"] == "AC70002"]
    assert not bank["rule_ids"].fillna("").str.contains("regf.validation_notice").any()
