"""the debtor's self-service page: verification codes, actions and contact preferences

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "selfservice_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ref", sa.String(32), nullable=False, index=True),
        sa.Column("address_digest", sa.String(64), nullable=False, index=True),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "selfservice_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_key", sa.String(64), nullable=False, unique=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False, index=True),
        sa.Column("campaign", sa.String(64)),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("detail", sa.JSON),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.Date),
    )
    op.create_table(
        "contact_preferences",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("locale", sa.String(8)),
        sa.Column("inconvenient_times", sa.JSON),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contact_preferences")
    op.drop_table("selfservice_actions")
    op.drop_table("selfservice_codes")
