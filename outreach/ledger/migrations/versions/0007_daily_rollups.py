"""daily funnel rollups (per campaign, bucket, channel, variant), held steps per rule, ops view indexes

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
    # Account lookup and the rollups read these by account or by time.
    op.create_index("ix_account_snapshots_account", "account_snapshots", ["account_id", "business_date"])
    op.create_index("ix_events_kind_time", "events", ["kind", "occurred_at"])
    op.create_index("ix_quarantined_rows_date", "quarantined_rows", ["business_date"])
    op.create_index("ix_payments_paid_on", "payments", ["paid_on"])
    op.create_index("ix_promises_recorded_at", "promises", ["recorded_at"])
    op.create_index("ix_suppressions_effective_at", "suppressions", ["effective_at"])


def downgrade() -> None:
    for index, table in (
        ("ix_suppressions_effective_at", "suppressions"),
        ("ix_promises_recorded_at", "promises"),
        ("ix_payments_paid_on", "payments"),
        ("ix_quarantined_rows_date", "quarantined_rows"),
        ("ix_events_kind_time", "events"),
        ("ix_account_snapshots_account", "account_snapshots"),
    ):
        op.drop_index(index, table_name=table)
    op.drop_table("held_rollups")
    op.drop_table("daily_rollups")
