"""Ledger schema migrations (Alembic): every schema change ships as a revision.

``upgrade`` brings any ledger, new or old, to the schema this code expects,
without losing rows. It runs at ``outreach init`` / ``outreach db upgrade`` and
before every pipeline step, so a deployment is never half-migrated. A ledger already
at the newest revision is told so without Alembic, whose import is a third of a
second of every task.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

# Each revision's file is named after it: ``0024_day_partitions.py`` holds revision "0024".
MIGRATION_FILE = re.compile(r"^(?P<revision>\d{4})_\w+\.py$")


class LedgerSchemaError(RuntimeError):
    """The ledger cannot be brought to this code's schema; the message says what to do."""


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("outreach.ledger") / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision(engine: Engine) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(engine)).get_current_head() or ""


def newest_revision() -> str:
    """The newest revision this code ships, read from its migration files' names."""
    versions = resources.files("outreach.ledger") / "migrations" / "versions"
    return max(found["revision"] for found in map(MIGRATION_FILE.match, (f.name for f in versions.iterdir())) if found)


def recorded_revision(engine: Engine) -> str | None:
    """The revision the ledger records, or None when it records none."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    # Every task asks this: Alembic's two lines about its context would fill each task's log.
    quiet = logging.getLogger("alembic.runtime.migration")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        quiet.setLevel(level)


def upgrade(engine: Engine) -> None:
    if recorded_revision(engine) == newest_revision():
        return
    from alembic import command

    with engine.connect() as conn:
        unversioned = current_revision(engine) is None and inspect(conn).has_table("pipeline_runs")
    if unversioned:
        raise LedgerSchemaError(
            f"the ledger at {engine.url.render_as_string(hide_password=True)} predates schema versioning; "
            "move it aside (or `make clean` for the demo's ledger) and run `outreach init` again"
        )
    if current_revision(engine) == head_revision(engine):
        return
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
