"""room on each page of the ladder positions for the day's new versions: most positions change each day
only in being seen again, and on PostgreSQL an update that fits on its own page leaves the indexes alone

Revision ID: 0023
Revises: 0022
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Pages written from now on; the rows already there move to such pages as they are updated.
        op.execute("ALTER TABLE ladder_states SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ladder_states RESET (fillfactor)")
