"""attempts record SMS segments and call outcomes (a longer status)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("segments", sa.Integer(), nullable=True))
        batch.alter_column("status", type_=sa.String(length=16), existing_type=sa.String(length=12))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.alter_column("status", type_=sa.String(length=12), existing_type=sa.String(length=16))
        batch.drop_column("segments")
