"""Phone numbers to E.164, for a whole column at once.

Parsing is the hot spot of a pull (tens of microseconds per number), so numbers
already written in E.164 take a fast path: their validity is decided once per
prefix (country code and the leading digits, which is what numbering plans make
validity depend on, plus the length) and reused for every number sharing it.
Other spellings are parsed once per distinct value and region.
"""

from __future__ import annotations

import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

E164 = r"^\+[1-9]\d{6,14}$"
PUNCTUATION = r"[\s().\-/]"
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
    """Caches per E.164 prefix, shared across columns and batches."""

    def __init__(self) -> None:
        self._prefix_valid: dict[str, bool] = {}

    def _valid_keys(self, keys: pa.Array, numbers: pa.Array) -> pa.Array:
        """The keys (prefix:length) whose numbers are valid, deciding each new key once."""
        unknown = pc.unique(
            pc.filter(keys, pc.invert(pc.is_in(keys, pa.array(list(self._prefix_valid), type=pa.string()))))
        )
        if len(unknown):
            first = pc.index_in(unknown, keys)
            for key, position in zip(unknown.to_pylist(), first.to_pylist(), strict=True):
                representative = numbers[position].as_py()
                self._prefix_valid[key] = _parse_one(representative, "ZZ")[0] == representative
        return pa.array([key for key, valid in self._prefix_valid.items() if valid], type=pa.string())

    def normalise(self, values: pd.Series, regions: pd.Series) -> tuple[pd.Series, pd.Series]:
        """(E.164 or None, reason or None) for every value; empty values are simply absent."""
        raw = pc.utf8_trim_whitespace(pc.fill_null(pa.array(values, type=pa.string(), from_pandas=True), ""))
        result = pd.Series(None, index=values.index, dtype=object)
        reason = pd.Series(None, index=values.index, dtype=object)

        already = pc.match_substring_regex(raw, E164)
        compact = pc.if_else(already, raw, pc.replace_substring_regex(raw, PUNCTUATION, ""))
        fast = pc.match_substring_regex(compact, E164)
        if pc.any(fast).as_py():
            numbers = pc.filter(compact, fast)
            keys = pc.binary_join_element_wise(
                pc.utf8_slice_codeunits(numbers, 0, PREFIX_LENGTH), pc.cast(pc.utf8_length(numbers), pa.string()), ":"
            )
            ok = pc.is_in(keys, self._valid_keys(keys, numbers)).to_numpy(zero_copy_only=False)
            fast_index = values.index[fast.to_numpy(zero_copy_only=False)]
            result.loc[fast_index[ok]] = numbers.filter(pa.array(ok)).to_pylist()
            reason.loc[fast_index[~ok]] = "not a valid phone number for its country code"

        slow = pc.and_(pc.not_equal(compact, ""), pc.invert(fast)).to_numpy(zero_copy_only=False)
        if slow.any():
            pairs = pd.DataFrame(
                {
                    "value": pd.Series(raw.to_pylist(), index=values.index)[slow],
                    "region": regions[slow].fillna("ZZ").astype(str),
                }
            )
            cache = {key: _parse_one(*key) for key in pairs.drop_duplicates().itertuples(index=False, name=None)}
            parsed = [cache[key] for key in pairs.itertuples(index=False, name=None)]
            result.loc[pairs.index] = [p[0] for p in parsed]
            reason.loc[pairs.index] = [p[1] for p in parsed]
        return result, reason
