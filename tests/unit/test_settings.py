"""Settings refuse a value they cannot run with, naming the variable."""

import pytest

from outreach.settings import Settings, SettingsError


def test_the_book_is_one_shard_unless_told_otherwise(tmp_path):
    assert Settings.from_env({"OUTREACH_HOME": str(tmp_path)}).shards == 1
    assert Settings.from_env({"OUTREACH_HOME": str(tmp_path), "OUTREACH_SHARDS": "4"}).shards == 4


@pytest.mark.parametrize("value", ["0", "2.5", "many", "65", "-1"])
def test_a_number_of_shards_that_cannot_split_a_book_is_refused_by_name(value, tmp_path):
    with pytest.raises(SettingsError, match="OUTREACH_SHARDS"):
        Settings.from_env({"OUTREACH_HOME": str(tmp_path), "OUTREACH_SHARDS": value})
