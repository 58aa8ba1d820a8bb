"""Repayment plans: which of a campaign's plans fit a balance, and the instalments a chosen one falls into.

A plan splits the balance into equal instalments in minor units; the cents that do not divide
evenly go on the last one, so the instalments always add up to the balance. A campaign offers a
plan only when its equal instalment is at least the plan's ``minimum_instalment``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from outreach.accounts.schema import CURRENCY_EXPONENT
from outreach.campaigns.model import Campaign, RepaymentPlanOffer


@dataclass(frozen=True)
class Instalment:
    due_on: date
    amount_minor: int


def instalment_schedule(total_minor: int, instalments: int, first_due: date, every_days: int) -> tuple[Instalment, ...]:
    """``total_minor`` in ``instalments`` equal parts (the remainder on the last), due ``every_days`` apart."""
    if instalments < 1:
        raise ValueError(f"a plan has at least one instalment, not {instalments}")
    if every_days < 1:
        raise ValueError(f"instalments fall at least a day apart, not {every_days}")
    if total_minor < instalments:
        raise ValueError(f"{total_minor} minor units cannot be split into {instalments} instalments")
    equal, remainder = divmod(total_minor, instalments)
    return tuple(
        Instalment(
            due_on=first_due + timedelta(days=k * every_days),
            amount_minor=equal + (remainder if k == instalments - 1 else 0),
        )
        for k in range(instalments)
    )


def minimum_instalment_minor(offer: RepaymentPlanOffer, currency: str) -> int:
    """The offer's minimum instalment in minor units of ``currency`` (a fraction of a minor unit rounds up)."""
    if currency not in CURRENCY_EXPONENT:
        raise ValueError(f"currency {currency} is not one the ledger keeps ({', '.join(CURRENCY_EXPONENT)})")
    return math.ceil(offer.minimum_instalment.scaleb(CURRENCY_EXPONENT[currency]))


def offered_plans(campaign: Campaign, balance_minor: int, currency: str) -> tuple[RepaymentPlanOffer, ...]:
    """The campaign's plans whose equal instalment of ``balance_minor`` is at least the plan's minimum."""
    return tuple(
        offer
        for offer in campaign.self_service.plans
        if balance_minor // offer.instalments >= minimum_instalment_minor(offer, currency)
    )
