"""A frame's rows read a column at a time are the rows pandas gives, value for value and type for type."""

import numpy as np
import pandas as pd

from outreach.frames import rows_of


def test_each_row_reads_as_pandas_gives_it_whatever_the_column_types():
    frame = pd.DataFrame(
        {
            "account_id": ["AC1", "AC2", "AC3"],
            "dpd": [31, 62, 95],
            "balance": [12.5, float("nan"), 0.0],
            "consent_sms": [True, False, True],
            "due": pd.to_datetime(["2026-10-01", None, "2026-09-01"]),
            "seen": pd.to_datetime(["2026-11-19T14:00:00Z", "2026-11-19T15:00:00Z", None], utc=True),
            "mixed": pd.Series([np.int64(7), None, np.float64(2.5)], dtype=object),
            "odd": pd.Series([pd.NA, np.datetime64("2026-11-20"), "text"], dtype=object),
            "maybe": pd.array([1, None, 3], dtype="Int64"),
            "named": pd.array(["a", None, "c"], dtype="string"),
        }
    )
    expected = frame.to_dict("records")
    found = list(rows_of(frame))
    assert [list(row) for row in found] == [list(row) for row in expected]
    for got, wanted in zip(found, expected, strict=True):
        for name, value in wanted.items():
            assert type(got[name]) is type(value), f"{name}: {got[name]!r} is not {value!r}"
            assert got[name] == value or (pd.isna(got[name]) and pd.isna(value)), name
