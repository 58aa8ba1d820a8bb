"""Phone normalisation: the prefix cache must agree with a full parse of every number."""

import phonenumbers
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.accounts.phones import PhoneNormaliser

AREA_CODES = ["212", "312", "303", "602", "310", "907", "808", "415", "999", "555", "800", "011", "201"]


def full_parse(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


BLANKS = ["", "  ", None]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(st.tuples(st.sampled_from(AREA_CODES), st.integers(0, 9_999_999)), st.sampled_from(BLANKS)),
        min_size=1,
        max_size=200,
    ),
    st.sampled_from(["+1{a}{n:07d}", "({a}) {n:07d}", "+86138{n:08d}", "+86{a}{n:07d}"]),
)
def test_the_prefix_cache_agrees_with_a_full_parse(numbers, template):
    """Whether most rows give a number or most leave it blank (another party's phone), each number is
    what a full parse makes of it, and a blank is simply absent."""
    values = [template.format(a=item[0], n=item[1]) if isinstance(item, tuple) else item for item in numbers]
    normalised, reasons = PhoneNormaliser().normalise(pa.array(values, pa.string()), pa.array(["US"] * len(values)))
    for value, got, why in zip(values, normalised.to_pylist(), reasons.to_pylist(), strict=True):
        if value is None or not value.strip():
            assert (got, why) == (None, None)
            continue
        expected = full_parse(value)
        assert got == expected, value
        assert (why is None) == (expected is not None)


def test_national_formats_use_the_row_country():
    values = pa.array(["(212) 555-0142", "138 1234 5678", "", None])
    normalised, reasons = PhoneNormaliser().normalise(values, pa.array(["US", "CN", "US", "US"]))
    assert normalised.to_pylist() == ["+12125550142", "+8613812345678", None, None]
    assert reasons.to_pylist() == [None, None, None, None]
