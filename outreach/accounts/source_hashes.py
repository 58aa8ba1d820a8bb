"""A hash of each row's contact fields as the source gave them, before any check or normalisation.

A row whose hash equals the one its account's contact version was made from has the same contact
details as then, so the pull need not check and normalise them again: a normal day re-validates the
few percent of the book whose details changed. The hash is taken over Arrow's buffers by polars, a
fifth to a third of a second for a million rows (pandas' hash of the same columns is two seconds).

Equal text always gives an equal hash; so a hash can only miss a change by a 64-bit collision. It is
seeded with everything else that decides a row's checked form: the text of the modules that check
and normalise (``RULE_MODULES``: any change to them, a rule, a word list or a comment, counts), the
versions of the libraries they use (polars' hash itself is only stable within one of its versions)
and the source's default region. When any of them changes, every row reads as changed once, and is
checked again: a new release can never keep a form its rules would no longer give.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import phonenumbers
import pyarrow as pa

ROWS_PER_BATCH = 200_000
HERE = Path(__file__).parent
# What decides a contact field's checked form: the checks, the phone numbers' normalisation, the
# schema's word lists and defaults, and this hash itself.
RULE_MODULES = ("validate.py", "phones.py", "schema.py", "columns.py", "source_hashes.py")
RULE_LIBRARIES = ("polars", "pyarrow", "phonenumbers", "tzdata")


@cache
def rules_fingerprint() -> str:
    """A digest of the rule modules' text and the libraries' versions."""
    digest = hashlib.blake2b(digest_size=16)
    for name in RULE_MODULES:
        digest.update((HERE / name).read_bytes())
    for library in RULE_LIBRARIES:
        digest.update(f"|{library} {_version(library)}".encode())
    return digest.hexdigest()


def _version(library: str) -> str:
    try:
        return version(library)
    except PackageNotFoundError:
        return "absent"  # tzdata: the system's zone files are used instead


def hash_seed(default_region: str | None) -> int:
    """The seed for a pull's hashes: equal only where the same rules, libraries and region decide the rows."""
    salt = f"{rules_fingerprint()}|region {(default_region or '').upper()}|phonenumbers {phonenumbers.__version__}"
    return int.from_bytes(hashlib.blake2b(salt.encode(), digest_size=8).digest(), "big") >> 1


def source_hashes(raw: pa.Table, columns: Iterable[str], default_region: str | None = None) -> np.ndarray:
    """A signed 64-bit hash of each row of ``raw`` over ``columns``; a column ``raw`` lacks is hashed as nulls."""
    # Imported here: a third of a second, which only a pull needs, not every task that loads the package.
    import polars as pl

    given = pa.table({name: _text(raw, name) for name in columns})
    seed = hash_seed(default_region)
    # In batches: polars copies the text it hashes, and a million rows' contact fields at once are a
    # quarter of a gigabyte more at the pull's peak.
    hashed = [np.zeros(0, dtype=np.uint64)] + [
        pl.from_arrow(given.slice(start, ROWS_PER_BATCH), rechunk=False).hash_rows(seed=seed).to_numpy()
        for start in range(0, given.num_rows, ROWS_PER_BATCH)
    ]
    return np.concatenate(hashed).view(np.int64)


def _text(raw: pa.Table, name: str) -> pa.ChunkedArray | pa.Array:
    if name not in raw.column_names:
        return pa.nulls(raw.num_rows, pa.string())
    column = raw.column(name)
    kind = column.type
    # Text of either width is hashed as it is: a cast would copy it first.
    textual = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    return column if textual else column.cast(pa.string())
