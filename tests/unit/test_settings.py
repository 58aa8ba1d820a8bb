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


def test_a_plan_holds_100000_accounts_at_a_time_unless_told_otherwise(tmp_path):
    assert Settings.from_env({"OUTREACH_HOME": str(tmp_path)}).plan_round_accounts == 100_000
    told = {"OUTREACH_HOME": str(tmp_path), "OUTREACH_PLAN_ROUND_ACCOUNTS": "25000"}
    assert Settings.from_env(told).plan_round_accounts == 25_000


@pytest.mark.parametrize("value", ["0", "0.5", "2.5", "many", "-1"])
def test_a_round_size_that_cannot_hold_accounts_is_refused_by_name(value, tmp_path):
    with pytest.raises(SettingsError, match="OUTREACH_PLAN_ROUND_ACCOUNTS"):
        Settings.from_env({"OUTREACH_HOME": str(tmp_path), "OUTREACH_PLAN_ROUND_ACCOUNTS": value})


def test_staged_accounts_are_kept_a_week_unless_told_otherwise(tmp_path):
    assert Settings.from_env({"OUTREACH_HOME": str(tmp_path)}).staged_days == 7
    assert Settings.from_env({"OUTREACH_HOME": str(tmp_path), "OUTREACH_STAGED_DAYS": "30"}).staged_days == 30


@pytest.mark.parametrize("value", ["0", "1.5", "forever", "-3"])
def test_a_retention_of_staged_accounts_that_is_not_whole_days_is_refused_by_name(value, tmp_path):
    with pytest.raises(SettingsError, match="OUTREACH_STAGED_DAYS"):
        Settings.from_env({"OUTREACH_HOME": str(tmp_path), "OUTREACH_STAGED_DAYS": value})
