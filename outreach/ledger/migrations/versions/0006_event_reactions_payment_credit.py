"""events are marked when the events DAG has reacted to them; payments name the contact they are credited to

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("reacted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_events_unreacted", "events", ["reacted_at", "id"])
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("credited_step_key", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("credited_step_key")
    op.drop_index("ix_events_unreacted", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("reacted_at")
