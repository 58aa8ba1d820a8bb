"""when each suppression was recorded, and the law's deadline for it to take effect

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suppressions") as batch_op:
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("honour_by", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("suppressions") as batch_op:
        batch_op.drop_column("honour_by")
        batch_op.drop_column("recorded_at")
