"""A pull checks a row's contact details only where they differ from what its contact version was made
from: the rows it finds unchanged come out as a check of every row would give them, and nothing a check
of every row would quarantine is let through."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.accounts.schema import CONTACT_FIELDS
from outreach.accounts.source_hashes import hash_seed, source_hashes
from outreach.accounts.validate import ALWAYS_CHECKED, strings_table, validate_table
from tests.factories import raw_account

CONTACT_ONLY = [name for name in CONTACT_FIELDS if name not in ALWAYS_CHECKED]

# Each field's values, good and bad, so that a change can make a row pass or fail either way (an
# account id another row has, a NUL byte, another party's details among them).
VALUES = {
    "mobile_phone": ["+12125550142", "(212) 555-0142", "+12125550199", "+1212", "not a phone", ""],
    "home_phone": ["", "+12125550100", "12"],
    "email": ["jane.doe@example.com", "new.jane@example.com", "not-an-email", ""],
    "country": ["US", "us", "USA", ""],
    "currency": ["USD", "JPY", "XXX"],
    "locale": ["en", "", "xx"],
    "stated_timezone": ["", "America/Chicago", "Mars/Base"],
    "consent_sms": ["yes", "no", "maybe"],
    "collector_type": ["", "third_party", "bank"],
    "name": ["Jane Doe", "J. Doe", "Ja\x00ne"],
    "account_id": ["AC0", "AC1"],
    "guarantor_phone": ["", "+12125550177", "not a phone"],
    "guarantor_email": ["", "guarantor@example.com", "nope"],
    "balance_due": ["1250.50", "1,250.50", "12.5.0", ""],
    "oldest_unpaid_due_date": ["2026-11-01", "2026-02-30", ""],
    "flags": ["", "dispute", "dispsute"],
}

changes = st.lists(
    st.tuples(st.integers(0, 7), st.sampled_from(sorted(VALUES)), st.integers(0, 5)), min_size=0, max_size=12
)


def book(edits: list[tuple[int, str, int]], accounts: int = 8) -> pd.DataFrame:
    rows = [raw_account(account_id=f"AC{n}", customer_id=f"CU{n}") for n in range(accounts)]
    for row, field, choice in edits:
        options = VALUES[field]
        rows[row % accounts][field] = options[choice % len(options)]
    return pd.DataFrame(rows, dtype=object)


def validated(frame: pd.DataFrame, checked_before: pa.Table | None = None):
    lines = np.arange(2, len(frame) + 2)
    return validate_table(strings_table(frame), lines, "book.csv", checked_before=checked_before)


def versions_of(result) -> pa.Table:
    """What the ledger keeps of a day's accepted rows: each account, the source hash it was checked under
    and a hash of its checked details (here a number per version, which the check hands on unread)."""
    versions = result.table.select(["account_id", "source_hash"])
    return versions.append_column("contact_hash", pa.array(np.arange(versions.num_rows) * 7 + 1, pa.int64()))


def quarantine(result) -> list[tuple]:
    return [(row.line, row.field, row.reason) for row in result.quarantined]


@settings(max_examples=150, deadline=None)
@given(yesterday=changes, today=changes)
def test_rows_found_unchanged_come_out_as_a_check_of_every_row_gives_them(yesterday, today):
    earlier = validated(book(yesterday))
    later = book(yesterday + today)
    everything = validated(later)
    only_changed = validated(later, checked_before=versions_of(earlier))

    assert quarantine(only_changed) == quarantine(everything)
    full = everything.table.to_pylist()
    partial = only_changed.table.to_pylist()
    kept = {row["account_id"]: row for row in earlier.table.to_pylist()}
    version_hash = dict(
        zip(earlier.table["account_id"].to_pylist(), (n * 7 + 1 for n in range(len(kept))), strict=True)
    )
    for checked, whole in zip(partial, full, strict=True):
        if checked["contacts_checked"]:
            assert checked["version_hash"] is None
            assert checked == whole
            continue
        assert checked["version_hash"] == version_hash[checked["account_id"]]
        # Left out, the contact details are those of the version it was made from, as checked then.
        before = kept[checked["account_id"]]
        assert all(checked[name] is None for name in CONTACT_ONLY)
        assert {name: before[name] for name in CONTACT_ONLY} == {name: whole[name] for name in CONTACT_ONLY}
        handed_on = (*CONTACT_ONLY, "contacts_checked", "version_hash")
        assert {k: v for k, v in checked.items() if k not in handed_on} == {
            k: v for k, v in whole.items() if k not in handed_on
        }


def test_a_normal_day_checks_the_contact_details_of_the_changed_rows_alone():
    earlier = validated(book([]))
    later = book([(3, "mobile_phone", 2), (5, "balance_due", 1), (6, "email", 2)])
    result = validated(later, checked_before=versions_of(earlier))

    table = result.table
    checked = dict(zip(table["account_id"].to_pylist(), table["contacts_checked"].to_pylist(), strict=True))
    assert checked == {"AC0": False, "AC1": False, "AC2": False, "AC3": True, "AC4": False, "AC5": False, "AC7": False}
    assert result.contacts_checked == 1
    assert quarantine(result) == [(8, "email", "is not an email address")]
    row = result.table.filter(pc.equal(result.table["account_id"], "AC3")).to_pylist()[0]
    assert row["mobile_phone"] == "+12125550199"
    # A balance is a day fact: checked and read anew whatever the contact details.
    row = result.table.filter(pc.equal(result.table["account_id"], "AC5")).to_pylist()[0]
    assert row["balance_due_minor"] == 125050 and row["mobile_phone"] is None


def test_an_account_with_no_version_yet_is_checked_whole():
    earlier = validated(book([], accounts=3))
    result = validated(book([], accounts=5), checked_before=versions_of(earlier))
    assert result.table["contacts_checked"].to_pylist() == [False, False, False, True, True]


def test_any_contact_field_changes_the_hash_and_a_day_fact_does_not():
    base = strings_table(pd.DataFrame([raw_account()], dtype=object))
    hashed = source_hashes(base, CONTACT_FIELDS)[0]
    for name in CONTACT_FIELDS:
        if name in base.column_names:
            changed = base.set_column(base.column_names.index(name), name, pa.array(["x"], pa.string()))
            assert source_hashes(changed, CONTACT_FIELDS)[0] != hashed, name
    for name in ("balance_due", "oldest_unpaid_due_date", "flags", "last_payment_date"):
        changed = base.set_column(base.column_names.index(name), name, pa.array(["x"], pa.string()))
        assert source_hashes(changed, CONTACT_FIELDS)[0] == hashed, name
    # A value moved from one field to the next is a change too.
    moved = base.set_column(base.column_names.index("home_phone"), "home_phone", base.column("mobile_phone"))
    moved = moved.set_column(moved.column_names.index("mobile_phone"), "mobile_phone", pa.array([""], pa.string()))
    assert source_hashes(moved, CONTACT_FIELDS)[0] != hashed


def test_the_hash_is_the_same_in_another_process_and_differs_under_another_region_or_rules():
    base = strings_table(pd.DataFrame([raw_account()], dtype=object))
    here = int(source_hashes(base, CONTACT_FIELDS)[0])
    program = (
        "import pandas as pd\n"
        "from outreach.accounts.schema import CONTACT_FIELDS\n"
        "from outreach.accounts.source_hashes import source_hashes\n"
        "from outreach.accounts.validate import strings_table\n"
        "from tests.factories import raw_account\n"
        "print(int(source_hashes(strings_table(pd.DataFrame([raw_account()], dtype=object)), CONTACT_FIELDS)[0]))\n"
    )
    there = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120)
    assert int(there.stdout.strip()) == here
    assert int(source_hashes(base, CONTACT_FIELDS, default_region="GB")[0]) != here
    assert hash_seed(None) != hash_seed("US") and hash_seed("us") == hash_seed("US")


def test_any_change_to_the_rules_or_their_libraries_changes_every_hash(tmp_path, monkeypatch):
    import shutil

    import phonenumbers

    import outreach.accounts.source_hashes as hashing

    base = strings_table(pd.DataFrame([raw_account()], dtype=object))
    before = int(source_hashes(base, CONTACT_FIELDS)[0])
    for name in hashing.RULE_MODULES:
        shutil.copy(hashing.HERE / name, tmp_path / name)
    monkeypatch.setattr(hashing, "HERE", tmp_path)
    hashing.rules_fingerprint.cache_clear()
    assert int(source_hashes(base, CONTACT_FIELDS)[0]) == before, "the same rules, the same hash"

    # A word that reads as consent, say, added to the schema.
    schema = tmp_path / "schema.py"
    schema.write_text(schema.read_text().replace('"yes", ', '"yes", "ok", '))
    hashing.rules_fingerprint.cache_clear()
    changed_rules = int(source_hashes(base, CONTACT_FIELDS)[0])
    assert changed_rules != before

    monkeypatch.setattr(phonenumbers, "__version__", "0.0.1")
    assert int(source_hashes(base, CONTACT_FIELDS)[0]) not in (before, changed_rules)
    hashing.rules_fingerprint.cache_clear()


def test_the_hash_covers_every_field_a_contact_version_keeps():
    from outreach.ledger.schema import CONTACT_COLUMNS

    assert CONTACT_FIELDS == CONTACT_COLUMNS


def test_a_row_hashes_the_same_in_whichever_batch_or_chunk_it_comes(monkeypatch):
    import outreach.accounts.source_hashes as hashing

    rows = pd.DataFrame([raw_account(account_id=f"AC{n}", mobile_phone=f"+1212555{n:04d}") for n in range(7)])
    table = strings_table(rows.astype(object))
    whole = source_hashes(table, CONTACT_FIELDS)
    monkeypatch.setattr(hashing, "ROWS_PER_BATCH", 3)
    chunked = pa.concat_tables([table.slice(0, 2), table.slice(2, 4), table.slice(6)])
    assert source_hashes(chunked, CONTACT_FIELDS).tolist() == whole.tolist()
    assert len(set(whole.tolist())) == 7
