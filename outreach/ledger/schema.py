"""Ledger tables.

Contact history is append-only where it matters (attempts, events, decisions):
every counter the contact policy needs is computed from these rows, so any past
decision can be replayed. Timestamps are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Engine

from outreach.accounts.schema import PARTY_COLUMNS

metadata = MetaData()

# An event a person records: the attorney of a represented debtor answered us by letter or by phone.
ATTORNEY_ANSWER = "attorney_answer"

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("orchestrator_run_id", String(250), nullable=False),
    Column("business_date", Date, nullable=False, index=True),
    Column("source", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("rows_read", Integer),
    Column("accepted", Integer),
    Column("quarantined", Integer),
    Column("campaign", String(64)),  # set when the run plans a campaign
)

# The day's segmentation facts of each account, kept per business date: what the day decides on.
account_days = Table(
    "account_days",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("balance_due_minor", BigInteger, nullable=False),
    Column("minimum_due_minor", BigInteger),
    Column("oldest_unpaid_due_date", Date, nullable=False),
    Column("last_payment_date", Date),
    Column("last_payment_amount_minor", BigInteger),
    Column("flags", String(200), nullable=False, default=""),
    Column("source_line", Integer),
    Column("dpd", Integer, nullable=False),
    Column("bucket", String(16), nullable=False),
    Column("previous_bucket", String(16)),
    Column("roll", String(8)),  # forward | back | same | new, against the previous business date
    # CRC-32 of the account id (``outreach.shards``): the database picks a shard's accounts, or a round's.
    Column("account_hash", BigInteger),
    Index("ix_account_days_account", "account_id", "business_date"),
    # On PostgreSQL a partition per business date (``outreach.ledger.day_partitions``).
    postgresql_partition_by="LIST (business_date)",
)


def _party_column_type(name: str) -> Any:
    kind = name.rsplit("_", 1)[1]
    return {"name": Text(), "phone": String(20), "email": String(320), "consent": Boolean()}[kind]


# Each account's contact details and consents, once per version: a version holds from ``valid_from``
# up to (not including) ``valid_to`` (null: still), and a new one starts only when they change.
account_contacts = Table(
    "account_contacts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("valid_to", Date),
    # Of the columns below as checked and normalised: a day whose hash is unchanged writes nothing.
    Column("contact_hash", BigInteger),
    # Of the same fields as the source gave them (``outreach.accounts.source_hashes``): a pull checks again
    # only the rows whose hash differs. Null on the versions made before it was kept.
    Column("source_hash", BigInteger),
    Column("customer_id", String(64), nullable=False),
    Column("name", Text),
    Column("mobile_phone", String(20)),
    Column("home_phone", String(20)),
    Column("work_phone", String(20)),
    Column("email", String(320)),
    Column("country", String(2), nullable=False),
    Column("region", String(16)),
    Column("postal_code", String(16)),
    Column("locale", String(8), nullable=False),
    Column("stated_timezone", String(64)),
    Column("currency", String(3), nullable=False),
    Column("consent_sms", Boolean, nullable=False),
    Column("consent_voice", Boolean, nullable=False),
    Column("consent_email", Boolean, nullable=False),
    Column("product", String(64)),
    Column("collector_type", String(16), nullable=False),
    # The others on the account a ladder stage may address (``outreach.accounts.schema.PARTIES``).
    *(Column(name, _party_column_type(name)) for name in PARTY_COLUMNS),
)

# Views, created by the migrations: not tables the schema check or a reset should find.
views = MetaData()

# Each account as it stood on a business date: its day's facts with the contact version then in
# effect (a view over the two tables above; written through ``Ledger.replace_snapshot``).
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
    *PARTY_COLUMNS,
)


def _snapshot_column(name: str) -> Column:
    source = account_days.c[name] if name in account_days.c else account_contacts.c[name]
    return Column(name, source.type, primary_key=name in ("business_date", "account_id"), nullable=source.nullable)


account_snapshots = Table("account_snapshots", views, *(_snapshot_column(name) for name in SNAPSHOT_COLUMNS))
DAY_COLUMNS = tuple(column.name for column in account_days.columns)
CONTACT_COLUMNS = tuple(
    column.name
    for column in account_contacts.columns
    if column.name not in ("valid_from", "valid_to", "contact_hash", "source_hash")
)


def drop_ledger(engine: Engine) -> None:
    """Empty a ledger of everything the migrations made (its views first: they depend on tables), of this
    schema or an earlier one."""
    found = inspect(engine)
    with engine.begin() as conn:
        if "account_snapshots" in found.get_view_names():
            conn.exec_driver_sql("DROP VIEW account_snapshots")
        elif "account_snapshots" in found.get_table_names():
            conn.exec_driver_sql("DROP TABLE account_snapshots")
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    metadata.drop_all(engine)


quarantined_rows = Table(
    "quarantined_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("business_date", Date, nullable=False),
    Column("source", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("field", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", JSON),
    Index("ix_quarantined_rows_date", "business_date"),
)

planned_steps = Table(
    "planned_steps",
    metadata,
    # account | campaign | stage | channel | business date: the same step is never planned twice.
    Column("step_key", String(200), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("campaign", String(64), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("template", String(64), nullable=False),
    Column("contact_address", String(320)),
    # Who the step addresses (``outreach.policy.model.Recipient``); null: the debtor.
    Column("recipient", String(16)),
    Column("decision", String(8), nullable=False),  # send | block | review
    Column("rule_ids", String(200), nullable=False, default=""),
    Column("reason", Text, nullable=False),
    Column("window_start", DateTime(timezone=True)),
    Column("window_end", DateTime(timezone=True)),
    # pending | sent | failed | deferred | expired | held
    Column("status", String(12), nullable=False),
    Column("status_reason", Text),
    Column("planned_at", DateTime(timezone=True), nullable=False),
    # CRC-32 of the account id (``outreach.shards``): a shard's steps are those where it is the shard's index
    # modulo the number of shards.
    Column("account_hash", BigInteger),
    Index("ix_planned_steps_date_status", "business_date", "status"),
    Index("ix_planned_steps_account", "account_id", "business_date"),
    Index("ix_planned_steps_contact", "contact_address", "business_date"),
    # The contact policy reads every step to an attorney, however old (``Ledger.contact_events``).
    Index(
        "ix_planned_steps_attorney",
        "account_id",
        postgresql_where=text("recipient = 'attorney'"),
        sqlite_where=text("recipient = 'attorney'"),
    ),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The claim: a unique step key means a retry, re-run or backfill cannot contact twice.
    Column("step_key", String(200), ForeignKey("planned_steps.step_key"), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    # claimed | sent | failed | unknown, then what the provider reported: delivered, undelivered,
    # connected, voicemail, busy, no_answer, not_connected
    Column("status", String(16), nullable=False),
    Column("provider_message_id", String(64)),
    Column("segments", Integer),  # SMS only: the parts the text is billed and delivered as
    Column("error_code", String(32)),
    Column("error", Text),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    # Until when the claiming worker holds the claim; it renews the lease while it is sending.
    Column("lease_until", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    # A call the rules require recorded: for how many days, the provider's recording, kept until when.
    Column("recording_days", Integer),
    Column("recording_ref", String(64)),
    Column("recording_kept_until", DateTime(timezone=True)),
    UniqueConstraint("step_key", name="uq_attempts_step_key"),
    Index("ix_attempts_account_channel", "account_id", "channel", "claimed_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), index=True),
    Column("step_key", String(200)),
    Column("channel", String(16)),
    Column("kind", String(32), nullable=False),  # conversation | voicemail_left | inbound | delivery | ...
    Column("outcome", String(16)),
    Column("address", String(320)),
    Column("provider_event_id", String(128), unique=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON),
    # When the events DAG reacted to it (fallback, confirmation, keypress); NULL until then.
    Column("reacted_at", DateTime(timezone=True)),
    Index("ix_events_unreacted", "reacted_at", "id"),
    Index("ix_events_kind_time", "kind", "occurred_at"),
    # A number's Reassigned Numbers Database answers, found by number.
    Index("ix_events_kind_address", "kind", "address", "occurred_at"),
)


def _honour_by(context) -> datetime | None:
    """Each suppression's deadline, by its reason, from when the person gave it (``policy.deadlines``)."""
    from outreach.policy.deadlines import honour_by

    row = context.get_current_parameters()
    effective_at = row.get("effective_at")
    return honour_by(row["reason"], effective_at) if effective_at is not None else None


suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), index=True),
    Column("channel", String(16)),  # None: every channel
    Column("address", String(320)),  # None: every address of the account
    Column("reason", String(48), nullable=False),
    Column("source", String(32), nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False, index=True),
    Column("lifted_at", DateTime(timezone=True)),
    Column("note", Text),
    # When the ledger learned of it, and the law's latest instant for it to take effect (filled on insert).
    Column("recorded_at", DateTime(timezone=True), default=lambda: datetime.now(UTC)),
    Column("honour_by", DateTime(timezone=True), default=_honour_by),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("step_key", String(200)),
    Column("actor", String(16), nullable=False),  # planner | dispatcher | person
    Column("decision", String(16), nullable=False),
    Column("rule_ids", String(200), nullable=False, default=""),
    Column("reason", Text, nullable=False),
    Index("ix_decisions_account", "account_id", "business_date"),
)

ladder_states = Table(
    "ladder_states",
    metadata,
    # Where each account stands on its campaign's ladder; history goes to ``decisions``.
    Column("account_id", String(64), primary_key=True),
    Column("campaign", String(64), nullable=False),
    Column("variant", String(32), nullable=False, default=""),
    Column("episode_started_on", Date, nullable=False),
    Column("last_seen_on", Date, nullable=False),
    Column("stage_index", Integer, nullable=False),
    Column("stage", String(64), nullable=False),
    Column("stage_since", Date, nullable=False),
    # active | paused | awaiting_approval | complete | ended
    Column("status", String(20), nullable=False),
    Column("status_reason", Text, nullable=False),
    Column("fallback_used", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("account_hash", BigInteger),
    Index("ix_ladder_states_campaign", "campaign", "status"),
    # Half of each page left free: a position seen again is updated on its own page (migration 0023).
    postgresql_with={"fillfactor": 50},
)

promises = Table(
    "promises",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("promised_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("source", String(16), nullable=False),  # keypress | agent | api
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, index=True),
    Column("status", String(12), nullable=False),  # open | kept | broken | cancelled
    Column("resolved_on", Date),
    Column("note", Text),
    # A repayment plan's instalments, [{"due_on": "YYYY-MM-DD", "amount_minor": int}, ...] in order;
    # null for a promise to pay once. A plan's promised_on is its last due date, amount_minor the total.
    Column("instalments", JSON),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("paid_on", Date, nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("source", String(32), nullable=False),
    Column("reference", String(128), unique=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # The last contact that went out before the payment: what the payment is credited to.
    Column("credited_step_key", String(200)),
)

handoffs = Table(
    "handoffs",
    metadata,
    # Work for people: agent callbacks, letters, agency placements and legal reviews.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("step_key", String(200), nullable=False, unique=True),
    Column("run_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("account_id", String(64), nullable=False, index=True),
    Column("campaign", String(64), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # agent_queue | letter | agency | legal
    Column("agency", String(64)),
    # Whom an agent calls or a letter is for (``outreach.policy.model.Recipient``); null: the debtor.
    Column("recipient", String(16)),
    Column("reason", Text, nullable=False),
    # open (agent queue) | awaiting_approval | approved | rejected | timed_out | placed | done
    Column("status", String(20), nullable=False),
    Column("decided_by", String(128)),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_note", Text),
    Column("output_file", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_handoffs_status", "kind", "status"),
)

escalations = Table(
    "escalations",
    metadata,
    # A person moving accounts up a ladder by hand: who, when, why, and what they asked for.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("requested_by", String(128), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("campaign", String(64), nullable=False),
    Column("target_stage", String(64), nullable=False),
    Column("selector", Text, nullable=False),  # "accounts: ..." or "segment: <name>"
    Column("reason", Text, nullable=False),
    Column("dry_run", Boolean, nullable=False),
)

escalated_accounts = Table(
    "escalated_accounts",
    metadata,
    Column("escalation_id", Integer, ForeignKey("escalations.id"), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("from_stage", String(64)),
    Column("to_stage", String(64), nullable=False),
    # escalated | would_escalate | refused | not_found
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_escalated_accounts_account", "account_id"),
)

# What the ops view counts per day, in the order it shows them (recovered is in minor units).
FUNNEL_COLUMNS = (
    "planned",
    "held",
    "waiting",  # pending, for a later wave of the day
    "expired",  # could not go before the business day ended
    "sent",
    "delivered",
    "failed",
    "replied",
    "opted_out",
    "promised",
    "paid",
    "recovered_minor",
)

daily_rollups = Table(
    "daily_rollups",
    metadata,
    # The ops view's funnel, written per campaign and business date (outreach.rollups).
    Column("business_date", Date, primary_key=True),
    Column("campaign", String(64), primary_key=True),
    Column("bucket", String(16), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("variant", String(32), primary_key=True),
    *(Column(name, BigInteger, nullable=False, default=0) for name in FUNNEL_COLUMNS),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_daily_rollups_campaign_date", "campaign", "business_date"),
)

held_rollups = Table(
    "held_rollups",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("campaign", String(64), primary_key=True),
    Column("rule_id", String(64), primary_key=True),
    Column("steps", BigInteger, nullable=False),
)

dispatch_waves = Table(
    "dispatch_waves",
    metadata,
    # One row per wave of a run and campaign: when it went, what it did, what it left waiting.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("campaign", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("wave", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),  # the run's clock: the instant the wave acted at
    Column("started_at", DateTime(timezone=True), nullable=False),  # the wall clock
    Column("due", Integer, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("held", Integer, nullable=False),
    Column("expired", Integer, nullable=False),
    Column("waiting", Integer, nullable=False),
    Column("next_wave_at", DateTime(timezone=True)),
    Column("note", Text),
    # Why this wave stopped the day (its sends failed past the alarm), for the report and the red task.
    Column("stopped", Text),
    # The shard of the book the wave sent for (0-based, of ``shards``); empty for the whole book.
    Column("shard", Integer),
    Column("shards", Integer),
    Index("ix_dispatch_waves_date_campaign", "business_date", "campaign"),
)

message_refs = Table(
    "message_refs",
    metadata,
    # The opaque reference a sent message carries (links, provider callbacks) in place of its step key.
    Column("ref", String(32), primary_key=True),
    Column("step_key", String(200), nullable=False, unique=True),
    Column("account_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # SHA-256 of the exact text that went: an interrupted text is found at the provider by it.
    Column("content_digest", String(64)),
)
# The debtor's self-service page. Codes texted to whoever holds a message's link, before it shows
# anything of the account: only digests are kept, of the code and of the number it went to.
selfservice_codes = Table(
    "selfservice_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ref", String(32), nullable=False, index=True),
    # Limits per number across links without keeping the number a second time.
    Column("address_digest", String(64), nullable=False, index=True),
    Column("code_digest", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("used_at", DateTime(timezone=True)),
)
# What a debtor did on the page: each form's one-time key makes a double submission one action.
selfservice_actions = Table(
    "selfservice_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_key", String(64), nullable=False, unique=True),
    # The reference number the debtor is given, to quote when they call.
    Column("reference", String(16), nullable=False, unique=True),
    Column("ref", String(32), nullable=False),
    Column("account_id", String(64), nullable=False, index=True),
    Column("campaign", String(64)),
    # promise | plan | plan_request | dispute | hardship | complaint | preferences | pay
    Column("action", String(24), nullable=False),
    Column("detail", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # For requests a person answers: by when.
    Column("respond_by", Date),
)
# How the debtor asked to be contacted: the planner and the dispatcher read it with every snapshot.
contact_preferences = Table(
    "contact_preferences",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("locale", String(8)),
    # [{"days": ["mon", ...], "start": "HH:MM", "end": "HH:MM"}] in the debtor's local time.
    Column("inconvenient_times", JSON),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("source", String(32), nullable=False),
)
