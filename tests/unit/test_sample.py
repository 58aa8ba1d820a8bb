from datetime import date
from pathlib import Path

import pandas as pd

from outreach.accounts import read_accounts
from outreach.buckets import assign_buckets
from outreach.sample import MALFORMED, write_sample


def test_sample_book_covers_what_the_pipeline_must_handle(tmp_path: Path):
    path = tmp_path / "accounts.csv"
    counts = write_sample(path, date(2026, 11, 20), accounts=3000)
    result = read_accounts(path)
    assert len(result.accounts) == counts["accounts"] == 3000
    assert len(result.quarantined) == counts["malformed"] == len(MALFORMED) + 1
    assert {q.field for q in result.quarantined} >= {field for field, _ in MALFORMED}

    frame = pd.DataFrame(result.accounts)
    dpd = (pd.Timestamp(date(2026, 11, 20)) - pd.to_datetime(frame["oldest_unpaid_due_date"])).dt.days
    assert set(assign_buckets(dpd)) == {"M1", "M2", "M3", "M4", "M5", "M6", "M7+"}
    assert set(frame["country"]) == {"US", "CN"}
    assert set(frame["locale"]) == {"en", "zh-CN"}
    flags = set("|".join(frame["flags"]).split("|")) - {""}
    assert {"dispute", "bankruptcy", "paid_in_full"} <= flags
    assert frame["consent_sms"].any() and not frame["consent_sms"].all()


def test_sample_is_deterministic_for_a_seed_and_date(tmp_path: Path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_sample(first, date(2026, 11, 20), accounts=200)
    write_sample(second, date(2026, 11, 20), accounts=200)
    assert first.read_bytes() == second.read_bytes()
