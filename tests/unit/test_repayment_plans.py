"""Repayment plans: equal instalments with the odd cents last, and only the plans a balance can carry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from outreach.campaigns import load_campaign
from outreach.campaigns.model import RepaymentPlanOffer, SelfService
from outreach.repayment_plans import Instalment, instalment_schedule, offered_plans
from outreach.settings import SHIPPED_CAMPAIGNS

M1 = load_campaign(SHIPPED_CAMPAIGNS / "m1_self_service.yaml")  # 3 and 6 instalments of at least 25
M2 = load_campaign(SHIPPED_CAMPAIGNS / "m2_plus.yaml")  # 3, 6 and 12 instalments of at least 50
FIRST = date(2026, 12, 1)


def with_plans(*plans: RepaymentPlanOffer):
    return M1.model_copy(update={"self_service": SelfService(plans=plans)})


def test_a_balance_that_divides_evenly_falls_into_equal_instalments_every_so_many_days():
    assert instalment_schedule(15_000, 3, FIRST, 30) == (
        Instalment(date(2026, 12, 1), 5_000),
        Instalment(date(2026, 12, 31), 5_000),
        Instalment(date(2027, 1, 30), 5_000),
    )


def test_the_cents_that_do_not_divide_go_on_the_last_instalment():
    schedule = instalment_schedule(10_000, 3, FIRST, 14)
    assert [i.amount_minor for i in schedule] == [3_333, 3_333, 3_334]
    assert sum(i.amount_minor for i in schedule) == 10_000
    assert [i.due_on for i in schedule] == [date(2026, 12, 1), date(2026, 12, 15), date(2026, 12, 29)]


def test_the_remainder_can_be_almost_a_whole_instalment():
    assert [i.amount_minor for i in instalment_schedule(1_199, 6, FIRST, 7)] == [199] * 5 + [204]


@pytest.mark.parametrize(
    ("total", "instalments", "every_days", "message"),
    [
        (2, 3, 30, "cannot be split into 3"),
        (0, 2, 30, "cannot be split"),
        (100, 0, 30, "at least one instalment"),
        (100, 2, 0, "at least a day apart"),
    ],
)
def test_a_schedule_that_cannot_be_made_is_refused(total, instalments, every_days, message):
    with pytest.raises(ValueError, match=message):
        instalment_schedule(total, instalments, FIRST, every_days)


def test_an_instalment_exactly_at_the_minimum_is_offered_and_one_cent_less_is_not():
    # 3 x USD 25.00 = 75.00; 6 x 25.00 = 150.00.
    assert [p.instalments for p in offered_plans(M1, 7_500, "USD")] == [3]
    assert offered_plans(M1, 7_499, "USD") == ()
    assert [p.instalments for p in offered_plans(M1, 15_000, "USD")] == [3, 6]
    assert [p.instalments for p in offered_plans(M1, 14_999, "USD")] == [3]


def test_the_cents_of_the_last_instalment_do_not_count_towards_the_minimum():
    # 7,502 in 3: 2,500 + 2,500 + 2,502, the equal instalment is at the minimum.
    assert [p.instalments for p in offered_plans(M1, 7_502, "USD")] == [3]
    # 7,499 in 3: 2,499 + 2,499 + 2,501, the equal instalment is a cent short.
    assert offered_plans(M1, 7_499, "USD") == ()


def test_the_m2_campaign_offers_a_year_only_on_a_large_balance():
    assert [p.instalments for p in offered_plans(M2, 60_000, "USD")] == [3, 6, 12]
    assert [p.instalments for p in offered_plans(M2, 59_999, "USD")] == [3, 6]
    assert offered_plans(M2, 14_999, "USD") == ()


def test_the_minimum_is_read_in_the_accounts_currency_yen_has_no_minor_unit():
    # JPY 25 is 25 minor units (exponent 0), not 2,500.
    assert [p.instalments for p in offered_plans(M1, 150, "JPY")] == [3, 6]
    assert [p.instalments for p in offered_plans(M1, 149, "JPY")] == [3]
    assert offered_plans(M1, 74, "JPY") == ()


def test_a_minimum_finer_than_the_currency_rounds_up_to_its_next_unit():
    campaign = with_plans(RepaymentPlanOffer(instalments=2, minimum_instalment=Decimal("10.5")))
    assert [p.instalments for p in offered_plans(campaign, 22, "JPY")] == [2]  # 11 >= 10.5
    assert offered_plans(campaign, 21, "JPY") == ()  # 10 < 10.5
    assert [p.instalments for p in offered_plans(campaign, 2_100, "USD")] == [2]


def test_a_campaign_without_plans_offers_none():
    assert offered_plans(with_plans(), 1_000_000, "USD") == ()


def test_nothing_is_offered_on_a_balance_of_nothing():
    assert offered_plans(M1, 0, "USD") == ()


def test_a_currency_the_ledger_does_not_keep_is_refused():
    with pytest.raises(ValueError, match="currency XXX"):
        offered_plans(M1, 100_000, "XXX")
