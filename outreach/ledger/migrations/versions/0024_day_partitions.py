"""on PostgreSQL, each business date's facts in a partition of ``account_days`` of their own

A day's rows are then loaded into a table with no index and indexed once, sorted, as it is attached,
instead of going one by one into indexes that hold every earlier day. Every day already kept moves
into its own partition, row for row; ``account_snapshots`` reads them as before. SQLite is unchanged.

Revision ID: 0024
Revises: 0023
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

BEFORE = "account_days_before_0024"


def _view_definition() -> str:
    return op.get_bind().exec_driver_sql("SELECT pg_get_viewdef('account_snapshots'::regclass)").scalar()


def _set_aside() -> str:
    """``account_days`` renamed out of the way, its view dropped; returns the view's definition."""
    view = _view_definition()
    op.execute("DROP VIEW account_snapshots")
    op.execute(f"ALTER TABLE account_days RENAME TO {BEFORE}")
    op.execute(f"ALTER INDEX account_days_pkey RENAME TO {BEFORE}_pkey")
    op.execute(f"ALTER INDEX ix_account_days_account RENAME TO ix_{BEFORE}_account")
    return view


def _days() -> list[str]:
    rows = op.get_bind().exec_driver_sql(f"SELECT DISTINCT business_date FROM {BEFORE} ORDER BY 1")
    return [day.isoformat() for (day,) in rows]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    view = _set_aside()
    op.execute(f"CREATE TABLE account_days (LIKE {BEFORE} INCLUDING DEFAULTS) PARTITION BY LIST (business_date)")
    op.execute("ALTER TABLE account_days ADD CONSTRAINT account_days_pkey PRIMARY KEY (business_date, account_id)")
    op.execute("CREATE INDEX ix_account_days_account ON account_days (account_id, business_date)")
    for day in _days():
        name = f"account_days_{day.replace('-', '')}"
        op.execute(f"CREATE TABLE {name} (LIKE {BEFORE} INCLUDING DEFAULTS)")
        op.execute(f"INSERT INTO {name} SELECT * FROM {BEFORE} WHERE business_date = DATE '{day}'")
        op.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_date CHECK (business_date = DATE '{day}')")
        op.execute(f"ALTER TABLE account_days ATTACH PARTITION {name} FOR VALUES IN (DATE '{day}')")
    op.execute(f"DROP TABLE {BEFORE}")
    op.execute(f"CREATE VIEW account_snapshots AS {view}")
    op.execute("ANALYZE account_days")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    view = _set_aside()
    op.execute(f"CREATE TABLE account_days (LIKE {BEFORE} INCLUDING DEFAULTS)")
    op.execute(f"INSERT INTO account_days SELECT * FROM {BEFORE}")
    op.execute("ALTER TABLE account_days ADD CONSTRAINT account_days_pkey PRIMARY KEY (business_date, account_id)")
    op.execute("CREATE INDEX ix_account_days_account ON account_days (account_id, business_date)")
    op.execute(f"DROP TABLE {BEFORE}")
    op.execute(f"CREATE VIEW account_snapshots AS {view}")
