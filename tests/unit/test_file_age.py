"""A file is removed once it is old enough, and one already gone is no error."""

import os
import time

from outreach.file_age import remove_if_written_before


def test_only_a_file_written_before_the_cutoff_is_removed(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    for path in (old, new):
        path.write_text("x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    cutoff = time.time() - 3600

    assert remove_if_written_before(old, cutoff) and not old.exists()
    assert not remove_if_written_before(new, cutoff) and new.exists()
    assert not remove_if_written_before(old, cutoff), "one already gone is not removed again, nor an error"
