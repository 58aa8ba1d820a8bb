"""message refs: the opaque reference each sent message carries in its links and provider
callbacks instead of its step key (and so its account number); why a dispatch wave stopped the day

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_refs",
        sa.Column("ref", sa.String(length=32), primary_key=True),
        sa.Column("step_key", sa.String(length=200), nullable=False, unique=True),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("dispatch_waves", sa.Column("stopped", sa.Text()))


def downgrade() -> None:
    op.drop_column("dispatch_waves", "stopped")
    op.drop_table("message_refs")
