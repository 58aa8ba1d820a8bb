"""manual escalations and the accounts each one moved or refused

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("run_id"),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("target_stage", sa.String(length=64), nullable=False),
        sa.Column("selector", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "escalated_accounts",
        sa.Column("escalation_id", sa.Integer(), sa.ForeignKey("escalations.id"), primary_key=True),
        sa.Column("account_id", sa.String(length=64), primary_key=True),
        sa.Column("from_stage", sa.String(length=64), nullable=True),
        sa.Column("to_stage", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_escalated_accounts_account", "escalated_accounts", ["account_id"])


def downgrade() -> None:
    op.drop_table("escalated_accounts")
    op.drop_table("escalations")
