"""account hashes on the day's facts and the ladder positions: a plan reads its shard a round at a time

Revision ID: 0019
Revises: 0018
"""

import zlib

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

ACCOUNTS_PER_BATCH = 5000
TABLES = ("account_days", "ladder_states")


def upgrade() -> None:
    conn = op.get_bind()
    for table in TABLES:
        op.add_column(table, sa.Column("account_hash", sa.BigInteger()))
        # Rows written before get their account's hash, so a shard or a round finds them too.
        accounts = conn.execute(sa.text(f"SELECT DISTINCT account_id FROM {table}")).scalars().all()
        update = sa.text(f"UPDATE {table} SET account_hash = :hash WHERE account_id = :account")
        for start in range(0, len(accounts), ACCOUNTS_PER_BATCH):
            batch = accounts[start : start + ACCOUNTS_PER_BATCH]
            conn.execute(update, [{"account": a, "hash": zlib.crc32(a.encode("utf-8"))} for a in batch])


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "account_hash")
