"""account shards: each planned step keeps its account's hash, each dispatch wave the shard it sent for

Revision ID: 0017
Revises: 0016
"""

import zlib

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ACCOUNTS_PER_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("planned_steps") as batch_op:
        batch_op.add_column(sa.Column("account_hash", sa.BigInteger()))
    with op.batch_alter_table("dispatch_waves") as batch_op:
        batch_op.add_column(sa.Column("shard", sa.Integer()))
        batch_op.add_column(sa.Column("shards", sa.Integer()))
    # Every step planned before gets its account's hash, so a sharded dispatch finds steps planned before it.
    conn = op.get_bind()
    accounts = conn.execute(sa.text("SELECT DISTINCT account_id FROM planned_steps")).scalars().all()
    update = sa.text("UPDATE planned_steps SET account_hash = :hash WHERE account_id = :account")
    for start in range(0, len(accounts), ACCOUNTS_PER_BATCH):
        batch = accounts[start : start + ACCOUNTS_PER_BATCH]
        conn.execute(update, [{"account": a, "hash": zlib.crc32(a.encode("utf-8"))} for a in batch])


def downgrade() -> None:
    with op.batch_alter_table("dispatch_waves") as batch_op:
        batch_op.drop_column("shards")
        batch_op.drop_column("shard")
    with op.batch_alter_table("planned_steps") as batch_op:
        batch_op.drop_column("account_hash")
