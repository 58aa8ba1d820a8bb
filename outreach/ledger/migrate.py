"""Ledger schema migrations (Alembic): every schema change ships as a revision.

``upgrade`` brings any ledger, new or old, to the schema this code expects,
without losing rows. It runs at ``outreach init`` / ``outreach db upgrade`` and
before every pipeline step, so a deployment is never half-migrated.
"""

from __future__ import annotations

import logging
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect


class LedgerSchemaError(RuntimeError):
    """The ledger cannot be brought to this code's schema; the message says what to do."""


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("outreach.ledger") / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision(engine: Engine) -> str:
    return ScriptDirectory.from_config(_config(engine)).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
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
