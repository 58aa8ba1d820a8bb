"""An account is in the same shard whichever way its hash is taken: one id at a time, or a whole book's
ids at once as the day's facts are written."""

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from outreach.shards import account_hash, account_hashes

account_ids = st.lists(st.text(min_size=0, max_size=40), max_size=30)


@given(account_ids, st.integers(min_value=0, max_value=5))
def test_a_book_hashed_at_once_puts_each_account_in_its_own_shard(ids, start):
    book = pa.chunked_array([pa.array(ids[:start], pa.string()), pa.array(ids[start:], pa.string())])
    assert account_hashes(book).tolist() == [account_hash(account) for account in ids]


def test_a_slice_of_a_book_hashes_as_its_own_ids():
    book = pa.array(["AC000001", "Zoë-7", "口座12", "", "AC000002"])
    assert account_hashes(book.slice(1, 3)).tolist() == [account_hash(a) for a in ["Zoë-7", "口座12", ""]]
