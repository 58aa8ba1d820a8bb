"""calls the rules require recorded: the retention, the provider's recording and until when it is kept

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.add_column(sa.Column("recording_days", sa.Integer()))
        batch_op.add_column(sa.Column("recording_ref", sa.String(length=64)))
        batch_op.add_column(sa.Column("recording_kept_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.drop_column("recording_kept_until")
        batch_op.drop_column("recording_ref")
        batch_op.drop_column("recording_days")
