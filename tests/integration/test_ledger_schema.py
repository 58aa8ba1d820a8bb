"""The ledger's schema comes from its migrations, on SQLite and on PostgreSQL alike."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from outreach.ledger import Ledger
from outreach.ledger.migrate import LedgerSchemaError, current_revision, head_revision
from outreach.ledger.schema import metadata


def test_the_migrated_schema_is_exactly_the_code_schema(ledger):
    with ledger.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert current_revision(ledger.engine) == head_revision(ledger.engine)


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
