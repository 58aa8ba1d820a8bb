"""each contact version's hash of its fields as the source gave them, so that a pull checks again only
the rows whose fields changed; versions made before it have none, and the next pull checks their rows
again and gives the versions then in effect theirs

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account_contacts", sa.Column("source_hash", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("account_contacts", "source_hash")
