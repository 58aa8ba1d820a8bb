"""repayment plans: a promise's instalments, each with its due date and amount

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promises") as batch_op:
        batch_op.add_column(sa.Column("instalments", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("promises") as batch_op:
        batch_op.drop_column("instalments")
