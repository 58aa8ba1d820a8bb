"""Realistic sample overdue accounts, for the demo, the tests and the benchmarks.

Deterministic for a given seed and business date, and vectorised, so a million
accounts take seconds. By default US numbers use the fictional 555-01XX range
and emails the reserved example domains; ``varied_numbers`` spreads numbers over
every exchange instead, so that benchmarks see as many distinct numbers as a
real book has. A handful of malformed rows are added on purpose, so the
quarantine path always runs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from outreach.accounts.schema import ACCOUNT_COLUMNS, PARTY_COLUMNS

# (area code, state, postal code, share): New York, Chicago, Denver, Phoenix, Los Angeles, Anchorage, Honolulu.
US_AREAS = [
    ("212", "NY", "10001", 0.26), ("312", "IL", "60601", 0.22), ("303", "CO", "80202", 0.12),
    ("602", "AZ", "85004", 0.10), ("310", "CA", "90012", 0.22), ("907", "AK", "99501", 0.04),
    ("808", "HI", "96813", 0.04),
]  # fmt: skip
CN_PROVINCES = [("BJ", "100000"), ("SH", "200000"), ("GD", "510000"), ("ZJ", "310000"), ("SC", "610000")]
US_FIRST = ["James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Carlos", "Aisha",
            "Wei", "Mei", "Daniel", "Sarah", "Kevin", "Emily", "Jose", "Grace", "Tyrone", "Hannah"]  # fmt: skip
US_LAST = ["Smith", "Johnson", "Garcia", "Brown", "Nguyen", "Lee", "Martinez", "Davis", "Chen", "Wilson",
           "Lopez", "Clark", "Patel", "Young", "King", "Wright"]  # fmt: skip
CN_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
CN_GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "军", "杰", "娟"]
CN_MOBILE_PREFIXES = ["138", "139", "150", "186", "188"]
# Delinquency mix by DPD band, heavy in M1 as real books are.
DPD_BANDS = [((1, 30), 0.45), ((31, 60), 0.20), ((61, 90), 0.12), ((91, 120), 0.08), ((121, 150), 0.06),
             ((151, 180), 0.05), ((181, 360), 0.04)]  # fmt: skip
FLAG_RATES = [("dispute", 0.012), ("bankruptcy", 0.006), ("paid_in_full", 0.01), ("deceased", 0.002),
              ("cease_and_desist", 0.003), ("attorney", 0.003)]  # fmt: skip
PRODUCTS = ["credit_card", "credit_card", "credit_card", "personal_loan", "auto_loan"]

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


def _money(minor: np.ndarray) -> pd.Series:
    return pd.Series(minor // 100).astype(str) + "." + pd.Series(minor % 100).astype(str).str.zfill(2)


def _maybe(rng: np.random.Generator, values: pd.Series, rate: float) -> pd.Series:
    return values.where(rng.random(len(values)) < rate, "")


def sample_frame(n: int, business_date: date, seed: int = 7, varied_numbers: bool = False) -> pd.DataFrame:
    """``n`` valid accounts as the raw text a bank's export would carry."""
    rng = np.random.default_rng([seed, business_date.toordinal()])
    index = np.arange(1, n + 1)
    china = rng.random(n) < 0.2

    band = rng.choice(len(DPD_BANDS), size=n, p=[w for _, w in DPD_BANDS])
    low = np.array([b[0][0] for b in DPD_BANDS])[band]
    high = np.array([b[0][1] for b in DPD_BANDS])[band]
    dpd = rng.integers(low, high + 1)
    due = pd.Series(pd.Timestamp(business_date) - pd.to_timedelta(dpd, unit="D")).dt.strftime("%Y-%m-%d")

    area_index = rng.choice(len(US_AREAS), size=n, p=[a[3] for a in US_AREAS])
    areas = pd.Series([a[0] for a in US_AREAS]).iloc[area_index].reset_index(drop=True)
    states = pd.Series([a[1] for a in US_AREAS]).iloc[area_index].reset_index(drop=True)
    zips = pd.Series([a[2] for a in US_AREAS]).iloc[area_index].reset_index(drop=True)
    province_index = rng.integers(0, len(CN_PROVINCES), n)
    provinces = pd.Series([p[0] for p in CN_PROVINCES]).iloc[province_index].reset_index(drop=True)
    cn_zips = pd.Series([p[1] for p in CN_PROVINCES]).iloc[province_index].reset_index(drop=True)

    def us_numbers() -> pd.Series:
        if varied_numbers:
            exchange = pd.Series(rng.integers(200, 1000, n)).astype(str)
            line = pd.Series(rng.integers(0, 10_000, n)).astype(str).str.zfill(4)
            return "+1" + areas + exchange + line
        return "+1" + areas + "5550" + pd.Series(rng.integers(100, 200, n)).astype(str)

    cn_mobile = (
        "+86"
        + pd.Series(CN_MOBILE_PREFIXES).iloc[rng.integers(0, len(CN_MOBILE_PREFIXES), n)].reset_index(drop=True)
        + pd.Series(rng.integers(0, 100_000_000, n)).astype(str).str.zfill(8)
    )
    first = pd.Series(US_FIRST).iloc[rng.integers(0, len(US_FIRST), n)].reset_index(drop=True)
    last = pd.Series(US_LAST).iloc[rng.integers(0, len(US_LAST), n)].reset_index(drop=True)
    cn_name = pd.Series(CN_SURNAMES).iloc[rng.integers(0, len(CN_SURNAMES), n)].reset_index(drop=True) + pd.Series(
        CN_GIVEN
    ).iloc[rng.integers(0, len(CN_GIVEN), n)].reset_index(drop=True)
    ids = pd.Series(index).astype(str).str.zfill(8)

    balance = np.where(china, rng.integers(300_00, 80_000_00, n), rng.integers(50_00, 12_000_00, n))
    paid_recently = rng.random(n) < 0.3
    flags = pd.Series("", index=range(n))
    for flag, rate in FLAG_RATES:
        hit = rng.random(n) < rate
        flags = flags.where(~hit, flags.where(flags == "", flags + "|") + flag)

    def pick(cn: pd.Series, us: pd.Series) -> pd.Series:
        return cn.where(pd.Series(china), us)

    blank = pd.Series("", index=range(n))
    frame = pd.DataFrame(
        {
            "account_id": "AC" + ids,
            "customer_id": "CU" + ids,
            "name": pick(cn_name, first + " " + last),
            "mobile_phone": pick(cn_mobile, _maybe(rng, us_numbers(), 0.9)),
            "home_phone": pick(blank, _maybe(rng, us_numbers(), 0.3)),
            "work_phone": pick(blank, _maybe(rng, us_numbers(), 0.1)),
            "email": pick(
                _maybe(rng, "user" + pd.Series(index).astype(str) + "@example.cn", 0.7),
                _maybe(
                    rng,
                    first.str.lower() + "." + last.str.lower() + pd.Series(index).astype(str) + "@example.com",
                    0.85,
                ),
            ),
            "country": pick(pd.Series("CN", index=range(n)), pd.Series("US", index=range(n))),
            "region": pick(provinces, states),
            "postal_code": pick(cn_zips, zips),
            "locale": pick(
                pd.Series("zh-CN", index=range(n)),
                pd.Series("en", index=range(n)).where(~(first.isin(["Wei", "Mei"]) & (rng.random(n) < 0.5)), "zh-CN"),
            ),
            "stated_timezone": pick(blank, _maybe(rng, pd.Series("America/Los_Angeles", index=range(n)), 0.02)),
            "currency": pick(pd.Series("CNY", index=range(n)), pd.Series("USD", index=range(n))),
            "balance_due": _money(balance),
            "minimum_due": _money(np.maximum(25_00, balance // 20)),
            "oldest_unpaid_due_date": due,
            "last_payment_date": (
                pd.Series(pd.Timestamp(business_date) - pd.to_timedelta(dpd + rng.integers(1, 41, n), unit="D"))
                .dt.strftime("%Y-%m-%d")
                .where(paid_recently, "")
            ),
            "last_payment_amount": _money(rng.integers(20_00, 500_00, n)).where(paid_recently, ""),
            "consent_sms": pd.Series(np.where(rng.random(n) < 0.85, "yes", "no")),
            "consent_voice": pd.Series(np.where(rng.random(n) < 0.8, "yes", "no")),
            "consent_email": pd.Series(np.where(rng.random(n) < 0.9, "yes", "no")),
            "flags": flags,
            "product": pd.Series(PRODUCTS).iloc[rng.integers(0, len(PRODUCTS), n)].reset_index(drop=True),
            "collector_type": "first_party",
        }
    )
    _add_parties(frame, np.random.default_rng([seed, business_date.toordinal(), 1]), last)
    return frame[list(ACCOUNT_COLUMNS)]


def _add_parties(frame: pd.DataFrame, rng: np.random.Generator, last: pd.Series) -> None:
    """The others some accounts name: the attorney of a represented debtor, the estate of a deceased one,
    and a guarantor on one account in twenty (drawn apart, so the debtors' own details stay as they were)."""
    n = len(frame)
    for name in PARTY_COLUMNS:
        frame[name] = ""
    ids = frame["account_id"].str.lower()
    flags = frame["flags"]
    represented = flags.str.contains("attorney")
    frame.loc[represented, "attorney_name"] = "Morgan Lee, Esq."
    frame.loc[represented, "attorney_email"] = "counsel+" + ids[represented] + "@example-law.com"
    frame.loc[represented, "attorney_consent"] = "yes"
    deceased = flags.str.contains("deceased")
    frame.loc[deceased, "estate_name"] = "Estate of " + frame.loc[deceased, "name"]
    frame.loc[deceased, "estate_email"] = "executor+" + ids[deceased] + "@example.org"
    frame.loc[deceased, "estate_consent"] = "yes"
    guaranteed = pd.Series(rng.random(n) < 0.05)
    frame.loc[guaranteed, "guarantor_name"] = "Alex " + last[guaranteed]
    frame.loc[guaranteed, "guarantor_email"] = "guarantor+" + ids[guaranteed] + "@example.com"
    frame.loc[guaranteed, "guarantor_consent"] = "yes"


def write_sample(path: Path, business_date: date, accounts: int = 5000, seed: int = 7) -> dict[str, int]:
    """Write ``accounts`` good rows plus one malformed row per known defect; return counts."""
    good = sample_frame(accounts + len(MALFORMED), business_date, seed)
    bad = good.iloc[accounts:].copy()
    for position, (field, value) in enumerate(MALFORMED):
        bad.iloc[position, bad.columns.get_loc(field)] = value
    good = good.iloc[:accounts]
    # Spread the bad rows through the file, as they arrive in practice.
    step = max(1, accounts // (len(MALFORMED) + 1))
    pieces = []
    for position in range(len(MALFORMED)):
        pieces.append(good.iloc[position * step : (position + 1) * step])
        pieces.append(bad.iloc[[position]])
    pieces.append(good.iloc[len(MALFORMED) * step :])
    book = pd.concat(pieces)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.to_csv(path, index=False)
    with path.open("a", encoding="utf-8") as handle:
        # A truncated last line, as a transfer cut short leaves it.
        handle.write("AC99999999,CU99999999,Truncated Row\n")
    return {"accounts": accounts, "malformed": len(MALFORMED) + 1}


def write_sample_parquet(path: Path, business_date: date, accounts: int, seed: int = 7) -> None:
    """A clean book as Parquet, for benchmarks; numbers spread like a real book's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sample_frame(accounts, business_date, seed, varied_numbers=True).to_parquet(path, index=False)
