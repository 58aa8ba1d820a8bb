"""Which E.164 prefixes the numbering plans make valid, remembered from one pull to the next.

A pull decides each prefix (country code, leading digits and length) by parsing one number with it:
about 6,000 prefixes and half a second of a million-account pull, the same answers every day. They
depend only on ``phonenumbers``' metadata, so they are kept in a file named after its version (a new
version starts afresh) in the deployment's home, and the next pull parses only the prefixes it has
not met. The file is an optimisation: one that cannot be read is set aside with a warning and the
prefixes are decided again.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import phonenumbers

log = logging.getLogger(__name__)


def prefixes_file(cache_dir: Path) -> Path:
    return cache_dir / f"phone-prefixes-{phonenumbers.__version__}.json"


def load_prefixes(cache_dir: Path) -> dict[str, bool]:
    """The prefixes decided by earlier pulls (``prefix:length`` to valid), or none."""
    path = prefixes_file(cache_dir)
    if not path.exists():
        return {}
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(known, dict) or not all(
            isinstance(key, str) and isinstance(valid, bool) for key, valid in known.items()
        ):
            raise ValueError("not an object of prefixes to true or false")
    except (OSError, ValueError) as exc:
        log.warning("phone prefixes file %s cannot be read (%s): every prefix is decided again", path, exc)
        return {}
    return known


def save_prefixes(cache_dir: Path, known: dict[str, bool]) -> bool:
    """``known`` written whole, in place of the file at once: a pull reading it meanwhile reads the old one.
    A file that cannot be written costs the next pull its parsing, never this pull: False, with a warning."""
    path = prefixes_file(cache_dir)
    temporary = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".phone-prefixes-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(known, out, sort_keys=True)
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        log.warning("phone prefixes file %s cannot be written (%s): the next pull decides them again", path, exc)
        return False
    return True
