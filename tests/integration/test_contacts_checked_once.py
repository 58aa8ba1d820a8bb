"""Day by day through the pull and the segmentation (SQLite and PostgreSQL): a normal day checks again
only the contact details that changed, and every day reads as a check of every row would have made it;
a ledger from before the source hashes were kept gets them on its next pull without a new version."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from outreach import pipeline
from outreach.accounts import read_accounts
from outreach.accounts.staging import StagedAccountsOutdated
from outreach.ledger.schema import account_contacts, account_snapshots
from tests.factories import raw_account, write_csv

DAY_ONE = date(2026, 11, 19)
DAY_TWO = DAY_ONE + timedelta(days=1)
CONTACT_DETAILS = ("customer_id", "name", "mobile_phone", "home_phone", "email", "locale", "consent_sms", "product")


def book(accounts: int = 12) -> list[dict[str, str]]:
    return [
        raw_account(
            account_id=f"AC{n:02d}",
            customer_id=f"CU{n:02d}",
            mobile_phone=f"+1212555{n:04d}",
            email=f"debtor{n}@example.com",
        )
        for n in range(accounts)
    ]


def pull_and_segment(settings, day: date, rows: list[dict[str, str]], run: str) -> dict:
    write_csv(settings.accounts_file, rows)
    ref = pipeline.pull(day, run, settings)
    pipeline.segment(ref, settings)
    return ref


def versions(ledger) -> int:
    with ledger.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(account_contacts)).scalar()


def contact_details_on(ledger, day: date) -> dict[str, dict]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(account_snapshots.c.account_id, *(account_snapshots.c[name] for name in CONTACT_DETAILS)).where(
                account_snapshots.c.business_date == day
            )
        ).mappings()
        return {row["account_id"]: {name: row[name] for name in CONTACT_DETAILS} for row in rows}


def as_every_row_checked(path: Path, day: date) -> dict[str, dict]:
    """The day's contact details as a check of every row of the file gives them."""
    accounts = read_accounts(path, day).table.to_pylist()
    return {row["account_id"]: {name: row[name] for name in CONTACT_DETAILS} for row in accounts}


def test_a_normal_day_checks_only_the_changed_contact_details_and_reads_as_a_full_check(ledger, settings_for, tmp_path):
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    first = pull_and_segment(settings, DAY_ONE, book(), "day-one")
    assert first["contacts_checked"] == 12

    today = book()
    today[3]["mobile_phone"] = "+12125559999"  # a new number
    today[5]["mobile_phone"] = "(212) 555-0005"  # the same number, written another way
    today[7]["email"] = "not-an-email"  # a new address that fails its check
    today[9]["balance_due"] = "99.00"  # a day fact alone
    second = pull_and_segment(settings, DAY_TWO, today, "day-two")

    assert second["quarantined"] == 1
    assert second["contacts_checked"] == 2, "only the rows whose contact fields changed are checked again"
    assert contact_details_on(ledger, DAY_TWO) == as_every_row_checked(settings.accounts_file, DAY_TWO)
    assert contact_details_on(ledger, DAY_TWO)["AC03"]["mobile_phone"] == "+12125559999"
    assert versions(ledger) == 13, "the new number alone opens a version; the same number written anew does not"

    # The same book again: the number written another way is now its version's source, and nothing is checked.
    third = pull_and_segment(settings, DAY_TWO + timedelta(days=1), today, "day-three")
    assert third["contacts_checked"] == 0
    assert versions(ledger) == 13


def test_a_ledger_from_before_gets_its_source_hashes_on_the_next_pull_without_new_versions(
    ledger, settings_for, tmp_path
):
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    pull_and_segment(settings, DAY_ONE, book(), "day-one")
    with ledger.engine.begin() as conn:
        conn.execute(update(account_contacts).values(source_hash=None))

    upgraded = pull_and_segment(settings, DAY_TWO, book(), "day-two")
    assert upgraded["contacts_checked"] == 12, "versions with no source hash are checked against once"
    assert versions(ledger) == 12
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(account_contacts.c.source_hash.is_(None))).scalar() == 0

    after = pull_and_segment(settings, DAY_TWO + timedelta(days=1), book(), "day-three")
    assert after["contacts_checked"] == 0


def test_a_pull_whose_versions_changed_before_its_segmentation_is_refused_and_says_what_to_do(
    ledger, settings_for, tmp_path
):
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    pull_and_segment(settings, DAY_ONE, book(), "day-one")
    write_csv(settings.accounts_file, book())
    stale = pipeline.pull(DAY_TWO, "day-two", settings)
    assert stale["contacts_checked"] == 0

    # Another run of the same day, from a source that changed meanwhile, is segmented first.
    changed = book()
    changed[4]["mobile_phone"] = "+12125558888"
    pull_and_segment(settings, DAY_TWO, changed, "day-two-again")

    with pytest.raises(StagedAccountsOutdated, match="run the pull again"):
        pipeline.segment(stale, settings)
    assert contact_details_on(ledger, DAY_TWO)["AC04"]["mobile_phone"] == "+12125558888"


def test_a_version_only_given_another_source_hash_meanwhile_still_holds_for_a_pull_staged_before(
    ledger, settings_for, tmp_path
):
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    pull_and_segment(settings, DAY_ONE, book(), "day-one")
    write_csv(settings.accounts_file, book())
    day_three = pipeline.pull(DAY_TWO + timedelta(days=1), "day-three", settings)
    assert day_three["contacts_checked"] == 0

    # Day two, pulled late, gives one number written another way: its version only takes the new hash.
    spelled = book()
    spelled[2]["mobile_phone"] = "(212) 555-0002"
    pull_and_segment(settings, DAY_TWO, spelled, "day-two")
    assert versions(ledger) == 12

    pipeline.segment(day_three, settings)
    assert contact_details_on(ledger, DAY_TWO + timedelta(days=1))["AC02"]["mobile_phone"] == "+12125550002"


def test_a_past_day_pulled_again_hands_the_later_days_their_versions_with_their_source_hashes_intact(
    ledger, settings_for, tmp_path
):
    settings = settings_for(ledger, tmp_path / "accounts.csv")
    pull_and_segment(settings, DAY_ONE, book(), "day-one")
    pull_and_segment(settings, DAY_TWO + timedelta(days=1), book(), "day-three")
    with ledger.engine.begin() as conn:
        # One account's version from before the source hashes were kept, beside the others'.
        conn.execute(update(account_contacts).where(account_contacts.c.account_id == "AC06").values(source_hash=None))
        kept = conn.execute(
            select(account_contacts.c.source_hash).where(account_contacts.c.account_id == "AC05")
        ).scalar_one()

    changed = book()
    changed[5]["mobile_phone"] = "+12125557777"
    changed[6]["mobile_phone"] = "+12125556666"
    pull_and_segment(settings, DAY_TWO, changed, "day-two")

    with ledger.engine.connect() as conn:
        later = conn.execute(
            select(account_contacts.c.source_hash).where(
                account_contacts.c.account_id == "AC05", account_contacts.c.valid_from == DAY_TWO + timedelta(days=1)
            )
        ).scalar_one()
    assert later == kept, "day three reads day one's details again, under their own source hash"
    assert contact_details_on(ledger, DAY_TWO)["AC05"]["mobile_phone"] == "+12125557777"
    assert contact_details_on(ledger, DAY_TWO + timedelta(days=1))["AC05"]["mobile_phone"] == "+12125550005"
    rerun = pull_and_segment(settings, DAY_TWO + timedelta(days=1), book(), "day-three-again")
    assert rerun["contacts_checked"] == 1, "only the account whose version has no source hash is checked again"
