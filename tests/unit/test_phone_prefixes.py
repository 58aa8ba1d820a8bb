"""The phone prefixes one pull decided spare the next pull the parsing, and never change an answer."""

import json
import logging
import os
import time

import phonenumbers
import pyarrow as pa

from outreach.accounts.phone_prefixes import load_prefixes, prefixes_file, save_prefixes
from outreach.accounts.phones import INVALID_FOR_COUNTRY_CODE, PhoneNormaliser

NUMBERS = pa.array(["+12125550142", "+13125550199", "+8613812345678", "+19995550100", "(415) 555-0100", ""])
REGIONS = pa.array(["US", "US", "CN", "US", "US", "US"])


def test_a_normaliser_given_the_prefixes_another_decided_gives_the_same_answers(tmp_path):
    first = PhoneNormaliser()
    expected = first.normalise(NUMBERS, REGIONS)
    save_prefixes(tmp_path, first.known_prefixes())

    known = load_prefixes(tmp_path)
    assert known == {key: True for key, valid in first.known_prefixes().items() if valid} and known
    assert PhoneNormaliser(known).normalise(NUMBERS, REGIONS) == expected


def test_the_file_never_holds_most_of_a_number(tmp_path):
    # Niue's numbers are 8 characters long: their prefix would be the whole number.
    decided = {"+1212555:12": True, "+6837012:8": True, "+5002345:9": True, "+1999555:12": False}
    save_prefixes(tmp_path, decided)
    assert load_prefixes(tmp_path) == {"+1212555:12": True}
    assert "6837012" not in prefixes_file(tmp_path).read_text()


def test_a_pull_that_decided_nothing_new_leaves_the_file_as_it_was(tmp_path):
    save_prefixes(tmp_path, {"+1212555:12": True})
    remembered = load_prefixes(tmp_path)
    prefixes_file(tmp_path).write_text(prefixes_file(tmp_path).read_text() + "\n")  # a mark a rewrite would lose
    assert save_prefixes(tmp_path, {**remembered, "+6837012:8": True, "+1999555:12": False}, remembered=remembered)
    assert prefixes_file(tmp_path).read_text().endswith("\n")
    save_prefixes(tmp_path, {**remembered, "+1312555:12": True}, remembered=remembered)
    assert load_prefixes(tmp_path) == {"+1212555:12": True, "+1312555:12": True}


def test_a_remembered_prefix_is_not_decided_again():
    # Told (wrongly, for the test's sake) that New York's 555 exchange is invalid, the normaliser believes it.
    numbers, reasons = PhoneNormaliser({"+1212555:12": False}).normalise(pa.array(["+12125550142"]), pa.array(["US"]))
    assert numbers.to_pylist() == [None] and reasons.to_pylist() == [INVALID_FOR_COUNTRY_CODE]


def test_the_file_belongs_to_one_version_of_the_numbering_plans_and_one_way_of_cutting_prefixes(tmp_path):
    (tmp_path / "phone-prefixes-8-0.0.1.json").write_text(json.dumps({"+1212555:12": True}))
    (tmp_path / f"phone-prefixes-6-{phonenumbers.__version__}.json").write_text(json.dumps({"+12125:12": True}))
    assert phonenumbers.__version__ in prefixes_file(tmp_path).name
    assert load_prefixes(tmp_path) == {}


def test_a_file_that_cannot_be_read_is_set_aside_with_a_warning(tmp_path, caplog):
    unreadable = (
        "{not json",
        json.dumps(["+1212555:12"]),
        json.dumps({"+1212555:12": "yes"}),
        json.dumps({"+1212555:12": False}),
        json.dumps({"12125550142": True}),
    )
    for text in unreadable:
        prefixes_file(tmp_path).write_text(text)
        with caplog.at_level(logging.WARNING, logger="outreach.accounts.phone_prefixes"):
            assert load_prefixes(tmp_path) == {}
        assert "every prefix is decided again" in caplog.text
        caplog.clear()


def test_a_cache_that_cannot_be_written_costs_the_next_pull_its_parsing_not_this_one(tmp_path, caplog):
    blocked = tmp_path / "home-is-a-file"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING, logger="outreach.accounts.phone_prefixes"):
        assert save_prefixes(blocked / "cache", {"+1212555:12": True}) is False
    assert "cannot be written" in caplog.text
    assert save_prefixes(tmp_path / "cache", {"+1212555:12": True}) is True
    assert load_prefixes(tmp_path / "cache") == {"+1212555:12": True}
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [prefixes_file(tmp_path / "cache").name]


def test_a_temporary_file_a_stopped_pull_left_behind_goes_at_the_next_pull(tmp_path):
    left_behind, being_written = tmp_path / ".phone-prefixes-a1b2.json", tmp_path / ".phone-prefixes-c3d4.json"
    for temporary in (left_behind, being_written):
        temporary.write_text("{")
    two_hours_ago = time.time() - 7200
    os.utime(left_behind, (two_hours_ago, two_hours_ago))

    assert save_prefixes(tmp_path, {"+1212555:12": True})
    assert not left_behind.exists() and being_written.exists()
    assert load_prefixes(tmp_path) == {"+1212555:12": True}

    # A pull that adds nothing to the file still tidies up.
    os.utime(being_written, (two_hours_ago, two_hours_ago))
    remembered = load_prefixes(tmp_path)
    assert save_prefixes(tmp_path, remembered, remembered=remembered)
    assert not being_written.exists()


def test_a_leftover_that_cannot_be_removed_is_named_and_the_file_still_written(tmp_path, caplog):
    stuck = tmp_path / ".phone-prefixes-e5f6.json"
    stuck.mkdir()  # cannot be unlinked as a file, by anyone
    two_hours_ago = time.time() - 7200
    os.utime(stuck, (two_hours_ago, two_hours_ago))

    with caplog.at_level(logging.WARNING, logger="outreach.accounts.phone_prefixes"):
        assert save_prefixes(tmp_path, {"+1212555:12": True})
    assert load_prefixes(tmp_path) == {"+1212555:12": True}
    assert str(stuck) in caplog.text and "cannot be removed" in caplog.text
