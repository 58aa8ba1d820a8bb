"""Which E.164 prefixes the numbering plans make valid, remembered from one pull to the next.

A pull decides each prefix (country code, leading digits and length) by parsing one number with it:
about 6,000 prefixes and a third of a second of a million-account pull's CPU, the same answers every
day. They depend only on ``phonenumbers``' metadata and on how a prefix is cut, so they are kept in a
file named after both (either changing starts afresh) in the deployment's home, and the next pull
parses only the prefixes it has not met. Only valid prefixes of numbers at least four digits longer
than the prefix are kept: the file never holds a whole number, nor most of one. The file is an
optimisation: one that cannot be read is set aside with a warning and the prefixes are decided again.
It is written whole to a temporary file and renamed; a temporary file a stopped pull left behind is
removed by the next pull, once it is an hour old.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path

import phonenumbers

from outreach.accounts.phones import PREFIX_LENGTH
from outreach.file_age import remove_if_written_before

log = logging.getLogger(__name__)

# A key is the prefix and the number's length, as ``PhoneNormaliser`` cuts it: "+1212555:12".
KEY = re.compile(rf"^\+\d{{1,{PREFIX_LENGTH - 1}}}:(\d{{1,2}})$")
# Digits of a number a kept key leaves out, at the least.
HIDDEN_DIGITS = 4
TEMPORARY_PREFIX = ".phone-prefixes-"
# A temporary file this old was left by a pull stopped between writing and renaming it, never one a pull
# is writing now.
LEFTOVER_SECONDS = 3600


def prefixes_file(cache_dir: Path) -> Path:
    return cache_dir / f"phone-prefixes-{PREFIX_LENGTH}-{phonenumbers.__version__}.json"


def load_prefixes(cache_dir: Path) -> dict[str, bool]:
    """The valid prefixes earlier pulls decided (``prefix:length`` to True), or none."""
    path = prefixes_file(cache_dir)
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(known, dict) or not all(
            isinstance(key, str) and KEY.match(key) and valid is True for key, valid in known.items()
        ):
            raise ValueError("not an object of prefixes to true")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("phone prefixes file %s cannot be read (%s): every prefix is decided again", path, exc)
        return {}
    return known


def _keepable(key: str, valid: bool) -> bool:
    match = KEY.match(key)
    return valid and match is not None and int(match.group(1)) - PREFIX_LENGTH >= HIDDEN_DIGITS


def _kept(known: dict[str, bool]) -> dict[str, bool]:
    """What of ``known`` the file keeps."""
    return {key: True for key, valid in known.items() if _keepable(key, valid)}


def save_prefixes(cache_dir: Path, known: dict[str, bool], remembered: dict[str, bool] | None = None) -> bool:
    """The valid prefixes of ``known`` that leave enough of a number out, written whole, in place of the
    file at once: a pull reading it meanwhile reads the old one. Nothing is written when they are what
    the file held already (``remembered``, as ``load_prefixes`` gave it). A file that cannot be written
    costs the next pull its parsing, never this pull: False, with a warning."""
    path = prefixes_file(cache_dir)
    _remove_leftovers(cache_dir)
    kept = _kept(known)
    if kept == remembered:
        return True
    temporary = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=TEMPORARY_PREFIX, suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(kept, out, sort_keys=True)
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        log.warning("phone prefixes file %s cannot be written (%s): the next pull decides them again", path, exc)
        return False
    return True


def _remove_leftovers(cache_dir: Path) -> None:
    """Tidying up never costs the file its write: what cannot be removed is named and left."""
    cutoff = time.time() - LEFTOVER_SECONDS
    for leftover in cache_dir.glob(f"{TEMPORARY_PREFIX}*.json"):
        try:
            remove_if_written_before(leftover, cutoff)
        except OSError as exc:
            log.warning("leftover phone prefixes file %s cannot be removed (%s)", leftover, exc)
