"""contact points of the others on an account (co-borrower, guarantor, attorney, estate, a third party
asked where the debtor is), versioned with the debtor's; and whom each planned step addresses

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

PARTIES = ("co_borrower", "guarantor", "attorney", "estate", "third_party")
KINDS = {"name": sa.Text, "phone": lambda: sa.String(20), "email": lambda: sa.String(320), "consent": sa.Boolean}
PARTY_COLUMNS = tuple(f"{party}_{kind}" for party in PARTIES for kind in KINDS)


def _view_columns() -> list[str]:
    return [column["name"] for column in sa.inspect(op.get_bind()).get_columns("account_snapshots")]


def _create_view(columns: list[str]) -> None:
    contact_columns = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("account_contacts")}
    picked = ", ".join(f"c.{name}" if name in contact_columns else f"d.{name}" for name in columns)
    op.execute(
        f"CREATE VIEW account_snapshots AS SELECT {picked} FROM account_days d JOIN account_contacts c "
        "ON c.account_id = d.account_id AND c.valid_from <= d.business_date "
        "AND (c.valid_to IS NULL OR c.valid_to > d.business_date)"
    )


def upgrade() -> None:
    columns = _view_columns()
    op.execute("DROP VIEW account_snapshots")
    for name in PARTY_COLUMNS:
        op.add_column("account_contacts", sa.Column(name, KINDS[name.rsplit("_", 1)[1]]()))
    op.add_column("planned_steps", sa.Column("recipient", sa.String(16)))
    _create_view(columns + list(PARTY_COLUMNS))


def downgrade() -> None:
    columns = [name for name in _view_columns() if name not in PARTY_COLUMNS]
    op.execute("DROP VIEW account_snapshots")
    op.drop_column("planned_steps", "recipient")
    for name in PARTY_COLUMNS:
        op.drop_column("account_contacts", name)
    _create_view(columns)
