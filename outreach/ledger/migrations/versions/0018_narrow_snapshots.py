"""narrow snapshots: each day keeps its segmentation facts; contact details are kept once per version

``account_snapshots`` held a 31-column copy of every account every day. Its rows move into
``account_days`` (the day's balance, DPD, bucket, roll and holds) and ``account_contacts`` (the contact
details and consents, one version per account for as long as they stay the same), and
``account_snapshots`` becomes a view that joins each day to the version then in effect: every
earlier day reads exactly as it did.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

DAY_COLUMNS = (
    "business_date",
    "account_id",
    "run_id",
    "balance_due_minor",
    "minimum_due_minor",
    "oldest_unpaid_due_date",
    "last_payment_date",
    "last_payment_amount_minor",
    "flags",
    "source_line",
    "dpd",
    "bucket",
    "previous_bucket",
    "roll",
)
CONTACT_COLUMNS = (
    "customer_id",
    "name",
    "mobile_phone",
    "home_phone",
    "work_phone",
    "email",
    "country",
    "region",
    "postal_code",
    "locale",
    "stated_timezone",
    "currency",
    "consent_sms",
    "consent_voice",
    "consent_email",
    "product",
    "collector_type",
)
# The view's columns, in the order the table had them.
SNAPSHOT_COLUMNS = (
    "business_date",
    "account_id",
    "run_id",
    "customer_id",
    "name",
    "mobile_phone",
    "home_phone",
    "work_phone",
    "email",
    "country",
    "region",
    "postal_code",
    "locale",
    "stated_timezone",
    "currency",
    "balance_due_minor",
    "minimum_due_minor",
    "oldest_unpaid_due_date",
    "last_payment_date",
    "last_payment_amount_minor",
    "consent_sms",
    "consent_voice",
    "consent_email",
    "flags",
    "product",
    "collector_type",
    "source_line",
    "dpd",
    "bucket",
    "previous_bucket",
    "roll",
)


def _contact_columns() -> list[sa.Column]:
    return [
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("mobile_phone", sa.String(20)),
        sa.Column("home_phone", sa.String(20)),
        sa.Column("work_phone", sa.String(20)),
        sa.Column("email", sa.String(320)),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("region", sa.String(16)),
        sa.Column("postal_code", sa.String(16)),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("stated_timezone", sa.String(64)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("consent_sms", sa.Boolean(), nullable=False),
        sa.Column("consent_voice", sa.Boolean(), nullable=False),
        sa.Column("consent_email", sa.Boolean(), nullable=False),
        sa.Column("product", sa.String(64)),
        sa.Column("collector_type", sa.String(16), nullable=False),
    ]


def _day_columns() -> list[sa.Column]:
    return [
        sa.Column("business_date", sa.Date(), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("balance_due_minor", sa.BigInteger(), nullable=False),
        sa.Column("minimum_due_minor", sa.BigInteger()),
        sa.Column("oldest_unpaid_due_date", sa.Date(), nullable=False),
        sa.Column("last_payment_date", sa.Date()),
        sa.Column("last_payment_amount_minor", sa.BigInteger()),
        sa.Column("flags", sa.String(200), nullable=False),
        sa.Column("source_line", sa.Integer()),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(16), nullable=False),
        sa.Column("previous_bucket", sa.String(16)),
        sa.Column("roll", sa.String(8)),
    ]


def create_snapshot_view() -> None:
    picked = ", ".join(f"c.{name}" if name in CONTACT_COLUMNS else f"d.{name}" for name in SNAPSHOT_COLUMNS)
    op.execute(
        f"CREATE VIEW account_snapshots AS SELECT {picked} FROM account_days d JOIN account_contacts c "
        "ON c.account_id = d.account_id AND c.valid_from <= d.business_date "
        "AND (c.valid_to IS NULL OR c.valid_to > d.business_date)"
    )


def upgrade() -> None:
    op.create_table("account_days", *_day_columns())
    op.create_index("ix_account_days_account", "account_days", ["account_id", "business_date"])
    op.create_table(
        "account_contacts",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("valid_from", sa.Date(), primary_key=True),
        sa.Column("valid_to", sa.Date()),
        sa.Column("contact_hash", sa.BigInteger()),
        *_contact_columns(),
    )
    days = ", ".join(DAY_COLUMNS)
    op.execute(f"INSERT INTO account_days ({days}) SELECT {days} FROM account_snapshots")
    # A version starts on an account's first day and on every day its details differ from the day before.
    differs = "IS DISTINCT FROM" if op.get_bind().dialect.name == "postgresql" else "IS NOT"
    contacts = ", ".join(CONTACT_COLUMNS)
    earlier = ", ".join(
        f"LAG({name}) OVER (PARTITION BY account_id ORDER BY business_date) AS was_{name}" for name in CONTACT_COLUMNS
    )
    changed = " OR ".join(f"{name} {differs} was_{name}" for name in CONTACT_COLUMNS)
    op.execute(
        f"INSERT INTO account_contacts (account_id, valid_from, valid_to, contact_hash, {contacts}) "
        f"SELECT account_id, business_date, "
        f"LEAD(business_date) OVER (PARTITION BY account_id ORDER BY business_date), NULL, {contacts} "
        f"FROM (SELECT account_id, business_date, {contacts} FROM ("
        f"SELECT account_id, business_date, {contacts}, "
        f"LAG(business_date) OVER (PARTITION BY account_id ORDER BY business_date) AS was_business_date, {earlier} "
        f"FROM account_snapshots) ordered WHERE was_business_date IS NULL OR {changed}) starts"
    )
    op.drop_index("ix_account_snapshots_account", table_name="account_snapshots")
    op.drop_table("account_snapshots")
    create_snapshot_view()


def downgrade() -> None:
    op.create_table(
        "account_snapshots_table",
        *[next(c for c in [*_day_columns(), *_contact_columns()] if c.name == name) for name in SNAPSHOT_COLUMNS],
    )
    columns = ", ".join(SNAPSHOT_COLUMNS)
    op.execute(f"INSERT INTO account_snapshots_table ({columns}) SELECT {columns} FROM account_snapshots")
    op.execute("DROP VIEW account_snapshots")
    op.drop_table("account_contacts")
    op.drop_index("ix_account_days_account", table_name="account_days")
    op.drop_table("account_days")
    op.rename_table("account_snapshots_table", "account_snapshots")
    op.create_index("ix_account_snapshots_account", "account_snapshots", ["account_id", "business_date"])
