"""events found by kind and address: a number's Reassigned Numbers Database answers

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_kind_address", "events", ["kind", "address", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_events_kind_address", table_name="events")
