"""The ledger's schema comes from its migrations, on SQLite and on PostgreSQL alike."""

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from outreach.ledger import Ledger
from outreach.ledger.migrate import (
    LedgerSchemaError,
    current_revision,
    head_revision,
    newest_revision,
    recorded_revision,
)
from outreach.ledger.schema import drop_ledger, metadata
from outreach.shards import account_hash


def test_the_migrated_schema_is_exactly_the_code_schema(ledger):
    with ledger.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert current_revision(ledger.engine) == head_revision(ledger.engine)


def test_the_newest_migration_file_is_alembics_head_and_a_ledger_at_it_is_known_without_alembic(ledger, tmp_path):
    """A task on an up-to-date ledger does not import Alembic: the newest revision is read from the
    migration files' names, which must therefore name Alembic's own head."""
    from alembic.script import ScriptDirectory

    from outreach.ledger.migrate import _config

    scripts = ScriptDirectory.from_config(_config(ledger.engine))
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path
    assert newest_revision() == head_revision(ledger.engine)
    assert recorded_revision(ledger.engine) == newest_revision()

    check = (
        "import sys; from outreach.ledger import Ledger; "
        f"Ledger.from_url({str(ledger.engine.url.render_as_string(hide_password=False))!r}).create_schema(); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))"
    )
    imported = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "[]"
    fresh = f"sqlite:///{tmp_path / 'new.db'}"
    Ledger.from_url(fresh).create_schema()
    assert recorded_revision(create_engine(fresh)) == newest_revision()


def test_upgrading_twice_changes_nothing(ledger):
    ledger.start_run("r1", "scheduled__x", __import__("datetime").date(2026, 11, 20), "accounts.csv")
    ledger.create_schema()
    assert ledger.run("r1")["source"] == "accounts.csv"


def test_a_ledger_from_before_versioning_is_refused_with_what_to_do(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE pipeline_runs (run_id VARCHAR PRIMARY KEY)"))
    with pytest.raises(LedgerSchemaError, match="predates schema versioning"):
        Ledger(engine).create_schema()


def test_a_ledger_of_every_earlier_version_upgrades_without_losing_rows(ledger):
    from alembic import command
    from alembic.script import ScriptDirectory

    from outreach.ledger.migrate import _config

    engine = ledger.engine
    drop_ledger(engine)
    config = _config(engine)
    revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]
    assert revisions[0] == "0001" and len(revisions) >= 3
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            text(
                "INSERT INTO pipeline_runs (run_id, orchestrator_run_id, business_date, source, started_at) "
                "VALUES ('r1', 'scheduled__1', '2026-11-20', 'accounts.csv', '2026-11-20 14:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO planned_steps (step_key, run_id, business_date, account_id, campaign, stage, channel, "
                "template, decision, rule_ids, reason, status, planned_at) VALUES ('k1', 'r1', '2026-11-20', 'AC1', "
                "'default', 'm1-sms-1', 'sms', 'reminder', 'send', '', 'allowed', 'sent', '2026-11-20 14:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO attempts (step_key, run_id, account_id, channel, status, claimed_at) "
                "VALUES ('k1', 'r1', 'AC1', 'sms', 'sent', '2026-11-20 14:00:01')"
            )
        )
    ledger.create_schema()
    assert current_revision(engine) == revisions[-1]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status, segments FROM attempts WHERE step_key = 'k1'")).one() == ("sent", None)
        # A step planned before the book was sharded is found in its account's shard.
        hashed = conn.execute(text("SELECT account_hash FROM planned_steps WHERE step_key = 'k1'")).scalar()
        assert hashed == account_hash("AC1")
        assert conn.execute(text("SELECT count(*) FROM pipeline_runs")).scalar() == 1
    assert ledger.run("r1")["source"] == "accounts.csv"
