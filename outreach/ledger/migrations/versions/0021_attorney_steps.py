"""the steps addressed to an attorney, found without reading every planned step: the contact policy
reads them however old, to know when a represented debtor's attorney went silent (US-19)

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TO_ATTORNEY = sa.text("recipient = 'attorney'")


def upgrade() -> None:
    op.create_index(
        "ix_planned_steps_attorney",
        "planned_steps",
        ["account_id"],
        postgresql_where=TO_ATTORNEY,
        sqlite_where=TO_ATTORNEY,
    )


def downgrade() -> None:
    op.drop_index("ix_planned_steps_attorney", table_name="planned_steps")
