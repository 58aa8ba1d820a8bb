"""Small builders for account rows, so each test states only what it is about."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from outreach.accounts.schema import ACCOUNT_COLUMNS, PARTY_COLUMNS


def raw_account(**overrides: Any) -> dict[str, str]:
    """A valid raw row (as a source file would carry it)."""
    row = {
        "account_id": "AC1",
        "customer_id": "CU1",
        "name": "Jane Doe",
        "mobile_phone": "+12125550142",
        "home_phone": "",
        "work_phone": "",
        "email": "jane.doe@example.com",
        "country": "US",
        "region": "NY",
        "postal_code": "10001",
        "locale": "en",
        "stated_timezone": "",
        "currency": "USD",
        "balance_due": "1250.50",
        "minimum_due": "62.50",
        "oldest_unpaid_due_date": "2026-11-01",
        "last_payment_date": "",
        "last_payment_amount": "",
        "consent_sms": "yes",
        "consent_voice": "yes",
        "consent_email": "yes",
        "flags": "",
        "product": "credit_card",
        "collector_type": "first_party",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def snapshot_account(business_date: date, dpd: int, **overrides: Any) -> dict[str, Any]:
    """A segmented account as the planner reads it from the ledger."""
    from outreach.accounts import validate_records
    from outreach.buckets import bucket_for

    due = (business_date - timedelta(days=dpd)).isoformat()
    result = validate_records([raw_account(oldest_unpaid_due_date=due)])
    account = {k: (None if v is None or v != v else v) for k, v in result.accounts.iloc[0].to_dict().items()}
    account.update({"dpd": dpd, "bucket": bucket_for(dpd), "business_date": business_date})
    account.update(overrides)
    return account


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        # Like most books, a file names the other parties' columns only when some row has them.
        columns = [c for c in ACCOUNT_COLUMNS if c not in PARTY_COLUMNS or any(c in row for row in rows)]
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


# A production deployment's settings that pass every start-up check (values shaped like real ones).
PRODUCTION_SETTINGS = {
    "OUTREACH_ENVIRONMENT": "production",
    "OUTREACH_LINK_SECRET": "q9V0xw2Lr7Tz4Kc8Yb1Nm6Hs3Jd5Pf0Ga",
    "OUTREACH_PAYMENTS_SECRET": "whsec_8f3b2c1d9e7a6b5c4d3e2f1a",
    "OUTREACH_BUSINESS_NAME": "Northwind Bank",
    "OUTREACH_CALLBACK_NUMBER": "+1 800 201 4455",
    "OUTREACH_POSTAL_ADDRESS": "1 Harbor Plaza, Boston, MA 02110",
    "OUTREACH_PAY_URL": "https://my.northwind-bank.com/r/",
    "OUTREACH_BANK_PAYMENT_URL": "https://pay.northwind-bank.com/pay",
}
