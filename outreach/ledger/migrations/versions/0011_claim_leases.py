"""claim leases that a live worker renews, and the digest of each message's exact text

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))
    with op.batch_alter_table("message_refs") as batch_op:
        batch_op.add_column(sa.Column("content_digest", sa.String(length=64)))


def downgrade() -> None:
    with op.batch_alter_table("message_refs") as batch_op:
        batch_op.drop_column("content_digest")
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.drop_column("lease_until")
