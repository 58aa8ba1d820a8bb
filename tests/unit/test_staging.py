"""The pull's accepted accounts reach the segmentation exactly as accepted, a run pulled by the
previous release (which staged Parquet) still segments, and staged files do not pile up."""

import logging
import os
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from outreach.accounts.staging import read_staged, remove_staged_before, write_staged

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


def _staged(runs_dir, run_id, name="accounts.arrow", days_ago=0.0, now=1_800_000_000.0):
    path = runs_dir / run_id / name
    path.parent.mkdir(parents=True)
    if name.endswith(".arrow"):
        write_staged(ACCEPTED, path)
    else:
        pq.write_table(ACCEPTED, path)
    written = now - days_ago * 86_400
    os.utime(path, (written, written))
    return path


def test_staged_accounts_older_than_the_kept_days_are_removed_and_newer_ones_kept(tmp_path):
    now = 1_800_000_000.0
    old = _staged(tmp_path, "2026-11-01-aaaa", days_ago=8, now=now)
    old_parquet = _staged(tmp_path, "2026-10-30-bbbb", "accounts.parquet", days_ago=30, now=now)
    recent = _staged(tmp_path, "2026-11-06-cccc", days_ago=6.9, now=now)
    # A backfill of an old business date, staged today: when it was written decides, not its date.
    backfilled = _staged(tmp_path, "2026-09-01-dddd", days_ago=0, now=now)
    note = tmp_path / "2026-11-01-aaaa" / "operator-note.txt"
    note.write_text("kept")

    # The pulling run's own folder, a re-pull of a run whose file an earlier pull wrote, is never touched.
    own = _staged(tmp_path, "2026-10-01-eeee", days_ago=20, now=now)
    removed = remove_staged_before(tmp_path, 7, now=now, keep=own.parent)

    assert own.exists()
    assert sorted(removed) == sorted([old, old_parquet])
    assert not old.exists() and not old_parquet.exists()
    assert recent.exists() and backfilled.exists()
    assert note.read_text() == "kept", "only staged files are removed from a run's folder"
    assert not (tmp_path / "2026-10-30-bbbb").exists(), "a run's folder left empty goes with its file"


def test_a_staged_file_that_cannot_be_removed_is_named_and_the_others_still_go(tmp_path, caplog):
    now = 1_800_000_000.0
    # A directory where the file should be: removing it fails whoever runs the pull, root included.
    stuck = tmp_path / "2026-11-01-aaaa" / "accounts.arrow"
    stuck.mkdir(parents=True)
    os.utime(stuck, (now - 9 * 86_400, now - 9 * 86_400))
    other = _staged(tmp_path, "2026-11-02-bbbb", days_ago=9, now=now)
    with caplog.at_level(logging.ERROR, logger="outreach.accounts.staging"):
        removed = remove_staged_before(tmp_path, 7, now=now)
    assert removed == [other] and stuck.exists() and not other.exists()
    assert str(stuck) in caplog.text and "cannot be removed" in caplog.text
