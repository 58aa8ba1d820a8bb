"""daily funnel rollups per campaign, bucket, channel and variant, and held steps per rule, for the ops view

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FUNNEL = (
    "planned",
    "held",
    "sent",
    "delivered",
    "failed",
    "replied",
    "opted_out",
    "promised",
    "paid",
    "recovered_minor",
)


def upgrade() -> None:
    op.create_table(
        "daily_rollups",
        sa.Column("business_date", sa.Date(), primary_key=True),
        sa.Column("campaign", sa.String(length=64), primary_key=True),
        sa.Column("bucket", sa.String(length=16), primary_key=True),
        sa.Column("channel", sa.String(length=16), primary_key=True),
        sa.Column("variant", sa.String(length=32), primary_key=True),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in FUNNEL),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_daily_rollups_campaign_date", "daily_rollups", ["campaign", "business_date"])
    op.create_table(
        "held_rollups",
        sa.Column("business_date", sa.Date(), primary_key=True),
        sa.Column("campaign", sa.String(length=64), primary_key=True),
        sa.Column("rule_id", sa.String(length=64), primary_key=True),
        sa.Column("steps", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("held_rollups")
    op.drop_table("daily_rollups")
