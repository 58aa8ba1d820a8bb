"""Moving between Arrow columns and the row positions numpy works with.

A check usually finds a few rows to work on (the numbers not yet in E.164, the amounts
not in the usual form); it works on just those and puts the results back in place.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def row_flags(condition: pa.Array) -> np.ndarray:
    """A boolean array of ``condition``, null counting as false."""
    return pc.fill_null(condition, False).to_numpy(zero_copy_only=False)


def flags_at(size: int, rows: np.ndarray) -> np.ndarray:
    """A boolean array of ``size``, true at ``rows``."""
    flags = np.zeros(size, dtype=bool)
    flags[rows] = True
    return flags


def spread(values: pa.Array, rows: np.ndarray, size: int) -> pa.Array:
    """A column of ``size`` with ``values`` at ``rows`` (in order) and nulls elsewhere."""
    position = np.full(size, -1, dtype="int64")
    position[rows] = np.arange(len(rows))
    return pc.take(values, pa.array(position, mask=position < 0))
