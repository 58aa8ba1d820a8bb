import pandas as pd
import pytest

from outreach.buckets import Bucket, BucketTableError, assign_buckets, bucket_for, expand_group


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
