"""Removing a file once it is old enough, when another process may be removing it too."""

from __future__ import annotations

from pathlib import Path


def remove_if_written_before(path: Path, cutoff: float) -> bool:
    """Remove ``path`` if it was last written before ``cutoff`` (seconds since the epoch); True when this
    call removed it. One another process removed meanwhile is not an error; any other failure is raised
    for the caller to report."""
    try:
        if path.stat().st_mtime >= cutoff:
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    return True
