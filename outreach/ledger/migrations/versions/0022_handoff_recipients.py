"""whom each hand-off to a person is for: an agent's call or a letter to another party on the account

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("handoffs", sa.Column("recipient", sa.String(16)))


def downgrade() -> None:
    op.drop_column("handoffs", "recipient")
