"""Realistic sample overdue accounts, for the demo and the tests.

Deterministic for a given seed and business date. Phone numbers use the
fictional 555-01XX range in the US; emails use the reserved example domains.
A handful of rows are malformed on purpose, so the quarantine path always runs.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from outreach.accounts.schema import ACCOUNT_COLUMNS

# (area code, state, postal code, share): New York, Chicago, Denver, Phoenix, Los Angeles, Anchorage, Honolulu.
US_AREAS = [
    ("212", "NY", "10001", 0.26),
    ("312", "IL", "60601", 0.22),
    ("303", "CO", "80202", 0.12),
    ("602", "AZ", "85004", 0.10),
    ("310", "CA", "90012", 0.22),
    ("907", "AK", "99501", 0.04),
    ("808", "HI", "96813", 0.04),
]
CN_PROVINCES = [("BJ", "100000"), ("SH", "200000"), ("GD", "510000"), ("ZJ", "310000"), ("SC", "610000")]
US_FIRST = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Carlos",
    "Aisha",
    "Wei",
    "Mei",
    "Daniel",
    "Sarah",
    "Kevin",
    "Emily",
    "Jose",
    "Grace",
    "Tyrone",
    "Hannah",
]
US_LAST = [
    "Smith",
    "Johnson",
    "Garcia",
    "Brown",
    "Nguyen",
    "Lee",
    "Martinez",
    "Davis",
    "Chen",
    "Wilson",
    "Lopez",
    "Clark",
    "Patel",
    "Young",
    "King",
    "Wright",
]
CN_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
CN_GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "军", "杰", "娟"]
# Delinquency mix by DPD band, heavy in M1 as real books are.
DPD_BANDS = [
    ((1, 30), 0.45),
    ((31, 60), 0.20),
    ((61, 90), 0.12),
    ((91, 120), 0.08),
    ((121, 150), 0.06),
    ((151, 180), 0.05),
    ((181, 360), 0.04),
]
FLAG_RATES = [
    ("dispute", 0.012),
    ("bankruptcy", 0.006),
    ("paid_in_full", 0.01),
    ("deceased", 0.002),
    ("cease_and_desist", 0.003),
    ("attorney", 0.003),
]
PRODUCTS = ["credit_card", "credit_card", "credit_card", "personal_loan", "auto_loan"]


def _weighted(rng: random.Random, options: list, weights: list[float]):
    return rng.choices(options, weights=weights, k=1)[0]


def _us_phone(rng: random.Random, area: str) -> str:
    return f"+1{area}5550{rng.randint(100, 199):03d}"


def _cn_mobile(rng: random.Random) -> str:
    return f"+86{rng.choice(['138', '139', '150', '186', '188'])}{rng.randint(0, 99_999_999):08d}"


def sample_account(rng: random.Random, index: int, business_date: date) -> dict[str, str]:
    account_id = f"AC{index:08d}"
    china = rng.random() < 0.2
    (low, high) = _weighted(rng, [b for b, _ in DPD_BANDS], [w for _, w in DPD_BANDS])
    dpd = rng.randint(low, high)
    currency = "CNY" if china else "USD"
    balance = rng.randint(50_00, 12_000_00) if not china else rng.randint(300_00, 80_000_00)
    minimum = max(25_00, balance // 20)
    if china:
        province, postal = rng.choice(CN_PROVINCES)
        name = rng.choice(CN_SURNAMES) + rng.choice(CN_GIVEN) + (rng.choice(CN_GIVEN) if rng.random() < 0.6 else "")
        mobile, home, work = _cn_mobile(rng), "", ""
        email = f"user{index}@example.cn" if rng.random() < 0.7 else ""
        locale, country, region = "zh-CN", "CN", province
    else:
        area, region, postal, _ = _weighted(rng, US_AREAS, [a[3] for a in US_AREAS])
        first, last = rng.choice(US_FIRST), rng.choice(US_LAST)
        name = f"{first} {last}"
        mobile = _us_phone(rng, area) if rng.random() < 0.9 else ""
        home = _us_phone(rng, area) if rng.random() < 0.3 else ""
        work = _us_phone(rng, rng.choice(US_AREAS)[0]) if rng.random() < 0.1 else ""
        email = f"{first.lower()}.{last.lower()}{index}@example.com" if rng.random() < 0.85 else ""
        locale = "zh-CN" if first in {"Wei", "Mei"} and rng.random() < 0.5 else "en"
        country, postal = "US", postal
    flags = [flag for flag, rate in FLAG_RATES if rng.random() < rate]
    paid_recently = rng.random() < 0.3
    return {
        "account_id": account_id,
        "customer_id": f"CU{index:08d}",
        "name": name,
        "mobile_phone": mobile,
        "home_phone": home,
        "work_phone": work,
        "email": email,
        "country": country,
        "region": region,
        "postal_code": postal,
        "locale": locale,
        "stated_timezone": "America/Los_Angeles" if (not china and rng.random() < 0.02) else "",
        "currency": currency,
        "balance_due": f"{balance / 100:.2f}",
        "minimum_due": f"{minimum / 100:.2f}",
        "oldest_unpaid_due_date": (business_date - timedelta(days=dpd)).isoformat(),
        "last_payment_date": (business_date - timedelta(days=dpd + rng.randint(1, 40))).isoformat()
        if paid_recently
        else "",
        "last_payment_amount": f"{rng.randint(20_00, 500_00) / 100:.2f}" if paid_recently else "",
        "consent_sms": "yes" if rng.random() < 0.85 else "no",
        "consent_voice": "yes" if rng.random() < 0.8 else "no",
        "consent_email": "yes" if rng.random() < 0.9 else "no",
        "flags": "|".join(flags),
        "product": rng.choice(PRODUCTS),
        "collector_type": "first_party",
    }


# Each defect a real export has been seen to carry, with the field it breaks.
MALFORMED = [
    ("mobile_phone", "+1212555"),
    ("oldest_unpaid_due_date", "31/12/2025"),
    ("balance_due", "-120.00"),
    ("balance_due", "12.345"),
    ("flags", "bankrupcy"),
    ("email", "no-at-sign.example.com"),
    ("account_id", ""),
    ("country", "USA"),
]


def write_sample(path: Path, business_date: date, accounts: int = 5000, seed: int = 7) -> dict[str, int]:
    """Write ``accounts`` good rows plus one malformed row per known defect; return counts."""
    rng = random.Random(f"{seed}:{business_date.isoformat()}")
    rows = [sample_account(rng, i + 1, business_date) for i in range(accounts)]
    bad_rows = []
    for offset, (field, value) in enumerate(MALFORMED):
        row = sample_account(rng, accounts + offset + 1, business_date)
        row[field] = value
        bad_rows.append(row)
    # Spread the bad rows through the file, as they arrive in practice.
    for offset, row in enumerate(bad_rows):
        rows.insert(min(len(rows), (offset + 1) * max(1, accounts // (len(bad_rows) + 1))), row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ACCOUNT_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
        # A truncated last line, as a transfer cut short leaves it.
        handle.write("AC99999999,CU99999999,Truncated Row\n")
    return {"accounts": accounts, "malformed": len(bad_rows) + 1}
