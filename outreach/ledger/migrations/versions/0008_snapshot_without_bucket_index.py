"""the daily snapshot loses its (business_date, bucket) index: the primary key already leads with the date

Every query on a day's snapshot reads that day through the primary key; the extra
index only cost a million-account pull about a sixth of its write time.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_account_snapshots_bucket", table_name="account_snapshots")


def downgrade() -> None:
    op.create_index("ix_account_snapshots_bucket", "account_snapshots", ["business_date", "bucket"])
