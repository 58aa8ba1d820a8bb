import pandas as pd
import pyarrow as pa
import pytest

from outreach.buckets import Bucket, BucketTableError, assign_buckets, bucket_for, expand_group, segment_table


def previous_day(buckets: dict[str, str]) -> pa.Table:
    return pa.table(
        {"account_id": pa.array(list(buckets), pa.string()), "bucket": pa.array(list(buckets.values()), pa.string())}
    )


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (-3, "current"),
        (0, "current"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (120, "M4"),
        (150, "M5"),
        (180, "M6"),
        (181, "M7+"),
        (2000, "M7+"),
    ],
)
def test_dpd_lands_in_the_industry_bucket(dpd, bucket):
    assert bucket_for(dpd) == bucket


def test_assign_buckets_keeps_the_index_of_the_input():
    dpd = pd.Series([45, 5, 0], index=["a", "b", "c"])
    assert assign_buckets(dpd).to_dict() == {"a": "M2", "b": "M1", "c": "current"}


def test_m2_plus_group_expands_to_every_later_bucket():
    assert expand_group(["M1", "M2+"]) == ("M1", "M2", "M3", "M4", "M5", "M6", "M7+")


def test_a_custom_table_with_a_gap_is_refused():
    with pytest.raises(BucketTableError, match="gap or overlap"):
        assign_buckets(pd.Series([10]), [Bucket("A", 1, 10), Bucket("B", 12, None)])


def test_a_custom_table_is_honoured():
    table = [Bucket("early", 1, 14), Bucket("late", 15, None)]
    assert assign_buckets(pd.Series([14, 15]), table).tolist() == ["early", "late"]


@pytest.mark.parametrize(
    ("due", "business_date", "dpd"),
    [
        ("2026-01-31", "2026-03-01", 29),  # across February
        ("2028-01-31", "2028-03-01", 30),  # across a leap February
        ("2028-02-29", "2028-03-30", 30),  # from a leap day: still M1
        ("2028-02-29", "2028-03-31", 31),  # ... and into M2 a day later
        ("2026-12-31", "2027-01-01", 1),  # across a year end
        ("2026-11-20", "2026-11-20", 0),  # due today: current
    ],
)
def test_dpd_counts_calendar_days_across_month_ends_and_leap_days(due, business_date, dpd):
    from datetime import date

    accounts = pa.table({"account_id": ["A"], "oldest_unpaid_due_date": [date.fromisoformat(due)]})
    segmented = segment_table(accounts, date.fromisoformat(business_date), previous_day({}))
    assert segmented.column("dpd").to_pylist() == [dpd]


def test_roll_forward_back_same_and_new_against_the_previous_day():
    from datetime import date

    day = date(2026, 11, 20)
    accounts = pa.table(
        {
            "account_id": ["worse", "better", "cured", "same", "new"],
            "oldest_unpaid_due_date": [
                date(2026, 10, 20),
                date(2026, 11, 10),
                date(2026, 11, 25),
                date(2026, 11, 1),
                date(2026, 11, 1),
            ],
        }
    )
    previous = {"worse": "M1", "better": "M2", "cured": "M1", "same": "M1"}
    segmented = segment_table(accounts, day, previous_day(previous)).to_pandas().set_index("account_id")
    assert segmented["bucket"].to_dict() == {
        "worse": "M2",
        "better": "M1",
        "cured": "current",
        "same": "M1",
        "new": "M1",
    }
    assert segmented["roll"].to_dict() == {
        "worse": "forward",
        "better": "back",
        "cured": "back",
        "same": "same",
        "new": "new",
    }


def test_a_bucket_table_from_configuration(monkeypatch):
    from outreach.buckets import configured_buckets, expand_group, parse_buckets

    assert [b.name for b in parse_buckets("early=1-14, late=15-")] == ["early", "late"]
    with pytest.raises(BucketTableError, match="NAME=FROM-TO"):
        parse_buckets("M1=1to30")
    monkeypatch.setenv("OUTREACH_BUCKETS", "B1=1-45,B2=46-90,B3=91-")
    assert bucket_for(50, configured_buckets()) == "B2"
    assert expand_group(["B2+"]) == ("B2", "B3")
    with pytest.raises(KeyError, match="unknown bucket or group 'M2\\+'"):
        expand_group(["M2+"])
