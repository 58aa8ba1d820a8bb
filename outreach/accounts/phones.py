"""Phone numbers to E.164, for a whole column at once.

Parsing is the hot spot of a pull (tens of microseconds per number), so each
distinct value is handled once, and numbers already written in E.164 take a
fast path: their validity is decided once per prefix (country code and the
first digits, which is what numbering plans make validity depend on) and
reused for every number sharing it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import phonenumbers

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PUNCTUATION = re.compile(r"[\s().\-/]")
# Country code plus the leading national digits that decide validity in the numbering plan.
PREFIX_LENGTH = 8


def _parse_one(value: str, region: str) -> tuple[str | None, str | None]:
    """(E.164, None) or (None, reason)."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        return None, f"not a phone number ({exc})"
    if not phonenumbers.is_valid_number(number):
        return None, f"not a valid {region} phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


class PhoneNormaliser:
    """Caches per distinct value and per E.164 prefix, shared across columns and batches."""

    def __init__(self) -> None:
        self._prefix_valid: dict[tuple[str, int], bool] = {}

    def _prefix_valid_for(self, representative: str) -> bool:
        key = (representative[:PREFIX_LENGTH], len(representative))
        valid = self._prefix_valid.get(key)
        if valid is None:
            valid = _parse_one(representative, "ZZ")[0] == representative
            self._prefix_valid[key] = valid
        return valid

    def normalise(self, values: pd.Series, regions: pd.Series) -> tuple[pd.Series, pd.Series]:
        """(E.164 or None, reason or None) for every value; empty values are simply absent."""
        values = values.fillna("").astype(str).str.strip()
        compact = values.str.replace(PUNCTUATION, "", regex=True)
        result = pd.Series(None, index=values.index, dtype=object)
        reason = pd.Series(None, index=values.index, dtype=object)
        present = compact != ""

        fast = present & compact.str.match(E164)
        if fast.any():
            candidates = compact[fast]
            keys = candidates.str.slice(0, PREFIX_LENGTH) + ":" + candidates.str.len().astype(str)
            representatives = candidates.groupby(keys, sort=False).first()
            verdict = {key: self._prefix_valid_for(rep) for key, rep in representatives.items()}
            ok = keys.map(verdict).astype(bool)
            result.loc[ok[ok].index] = candidates[ok]
            reason.loc[ok[~ok].index] = "not a valid phone number for its country code"

        slow = present & ~fast
        if slow.any():
            pairs = pd.DataFrame({"value": values[slow], "region": regions[slow].fillna("ZZ").astype(str)})
            cache = {
                key: _parse_one(key[0], key[1]) for key in pairs.drop_duplicates().itertuples(index=False, name=None)
            }
            parsed = [cache[key] for key in pairs.itertuples(index=False, name=None)]
            result.loc[pairs.index] = [p[0] for p in parsed]
            failed = np.array([p[1] for p in parsed], dtype=object)
            reason.loc[pairs.index] = failed
            # A valid number written for another region's reader ("020 ..." with region CN) is fine.
        return result, reason
