"""The pull's accepted accounts reach the segmentation exactly as accepted, and a run pulled by the
previous release (which staged Parquet) still segments."""

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from outreach.accounts.staging import read_staged, write_staged

ACCEPTED = pa.table(
    {
        "account_id": ["AC001", "AC002", "AC003"],
        "name": ["Zoë O'Brien", "", None],
        "balance_due_minor": pa.array([125050, 0, None], pa.int64()),
        "oldest_unpaid_due_date": pa.array([date(2026, 10, 1), date(2026, 11, 2), None], pa.date32()),
        "consent_sms": [True, False, None],
    }
)


def test_the_accepted_accounts_come_back_as_they_were_staged(tmp_path):
    write_staged(ACCEPTED, tmp_path / "accounts.arrow")
    assert read_staged(tmp_path / "accounts.arrow").equals(ACCEPTED)


def test_a_run_staged_as_parquet_by_the_previous_release_is_still_read(tmp_path):
    pq.write_table(ACCEPTED, tmp_path / "accounts.parquet")
    assert read_staged(tmp_path / "accounts.parquet").equals(ACCEPTED)
