"""snapshot without its (business_date, bucket) index; planned steps found by the address contacted

Every query on a day's snapshot reads that day through the primary key; the extra
index only cost a million-account pull about a sixth of its write time. An inbound
text is matched to the account last texted at that number, through the new index,
instead of scanning every snapshot ever kept for the number.

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
    op.create_index("ix_planned_steps_contact", "planned_steps", ["contact_address", "business_date"])


def downgrade() -> None:
    op.drop_index("ix_planned_steps_contact", table_name="planned_steps")
    op.create_index("ix_account_snapshots_bucket", "account_snapshots", ["business_date", "bucket"])
