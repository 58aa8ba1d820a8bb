"""dispatch waves: each wave of a day's dispatch, when it went and what it left waiting; the
daily rollups count waiting and expired steps apart from held ones

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_waves",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in ("due", "sent", "failed", "held", "expired", "waiting")
        ),
        sa.Column("next_wave_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_dispatch_waves_date_campaign", "dispatch_waves", ["business_date", "campaign"])
    for name in ("waiting", "expired"):
        op.add_column("daily_rollups", sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    for name in ("expired", "waiting"):
        op.drop_column("daily_rollups", name)
    op.drop_index("ix_dispatch_waves_date_campaign", table_name="dispatch_waves")
    op.drop_table("dispatch_waves")
