"""Phone numbers to E.164, for a whole column at once.

Parsing is the hot spot of a pull (tens of microseconds per number), so numbers
already written in E.164 take a fast path: their validity is decided once per
prefix (country code and the leading digits, which is what numbering plans make
validity depend on, plus the length) and reused for every number sharing it.
Other spellings are parsed once per distinct value and region.
"""

from __future__ import annotations

import threading

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from outreach.accounts.columns import row_flags, spread

E164 = r"^\+[1-9]\d{6,14}$"
PUNCTUATION = r"[\s().\-/]"
# Country code plus the leading national digits that decide validity in the numbering plan.
PREFIX_LENGTH = 8
INVALID_FOR_COUNTRY_CODE = "not a valid phone number for its country code"


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
    """Caches per E.164 prefix, shared across columns and batches; ``known`` are prefixes already
    decided (``prefix:length`` to valid), as ``known_prefixes`` gives them back."""

    def __init__(self, known: dict[str, bool] | None = None) -> None:
        self._prefix_valid: dict[str, bool] = dict(known or {})
        # Columns are normalised on several threads at once; the cache is shared between them.
        self._lock = threading.Lock()

    def _valid_keys(self, keys: pa.Array, numbers: pa.Array) -> pa.Array:
        """The keys (prefix:length) whose numbers are valid, deciding each new key once."""
        with self._lock:
            unknown = pc.unique(
                pc.filter(keys, pc.invert(pc.is_in(keys, pa.array(list(self._prefix_valid), type=pa.string()))))
            )
            if len(unknown):
                first = pc.index_in(unknown, keys)
                for key, position in zip(unknown.to_pylist(), first.to_pylist(), strict=True):
                    representative = numbers[position].as_py()
                    self._prefix_valid[key] = _parse_one(representative, "ZZ")[0] == representative
            return pa.array([key for key, valid in self._prefix_valid.items() if valid], type=pa.string())

    def known_prefixes(self) -> dict[str, bool]:
        with self._lock:
            return dict(self._prefix_valid)

    def normalise(self, values: pa.Array, regions: pa.Array) -> tuple[pa.Array, pa.Array]:
        """(E.164 or null, reason or null) for every value; empty values are simply absent."""
        raw = pc.utf8_trim_whitespace(pc.fill_null(values, ""))
        given = np.flatnonzero(row_flags(pc.not_equal(raw, "")))
        if len(given) * 2 < len(raw):
            # Most rows give no number here (a home phone, another party's): only those that do are worked on.
            numbers, reasons = self._normalise_given(raw.take(given), regions.take(given))
            return spread(numbers, given, len(raw)), spread(reasons, given, len(raw))
        return self._normalise_given(raw, regions)

    def _normalise_given(self, raw: pa.Array, regions: pa.Array) -> tuple[pa.Array, pa.Array]:
        # Only numbers not already in E.164 pay for removing punctuation.
        spelled = np.flatnonzero(
            row_flags(pc.and_(pc.not_equal(raw, ""), pc.invert(pc.match_substring_regex(raw, E164))))
        )
        compact = raw
        if len(spelled):
            stripped = pc.replace_substring_regex(raw.take(spelled), PUNCTUATION, "")
            compact = pc.coalesce(spread(stripped, spelled, len(raw)), raw)
        fast = pc.match_substring_regex(compact, E164)

        keys = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(compact, 0, PREFIX_LENGTH), pc.cast(pc.utf8_length(compact), pa.string()), ":"
        )
        fast_keys = pc.filter(keys, fast)
        valid = pc.and_(fast, pc.is_in(keys, self._valid_keys(fast_keys, pc.filter(compact, fast))))
        numbers = pc.if_else(valid, compact, pa.scalar(None, pa.string()))
        reasons = pc.if_else(
            pc.and_(fast, pc.invert(valid)), pa.scalar(INVALID_FOR_COUNTRY_CODE), pa.scalar(None, pa.string())
        )

        rows = np.flatnonzero(row_flags(pc.and_(pc.not_equal(compact, ""), pc.invert(fast))))
        if not len(rows):
            return numbers, reasons
        pairs = list(
            zip(
                raw.take(rows).to_pylist(),
                pc.fill_null(regions, "ZZ").take(rows).to_pylist(),
                strict=True,
            )
        )
        cache = {(value, region): _parse_one(value, region or "ZZ") for value, region in set(pairs)}
        parsed = [cache[pair] for pair in pairs]
        # The slow rows have neither a number nor a reason yet: each gets its parse's.
        numbers = pc.coalesce(numbers, spread(pa.array([p[0] for p in parsed], pa.string()), rows, len(raw)))
        reasons = pc.coalesce(reasons, spread(pa.array([p[1] for p in parsed], pa.string()), rows, len(raw)))
        return numbers, reasons
