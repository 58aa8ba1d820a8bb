"""Each opt-out carries the law's deadline to honour it: 10 US business days for a TCPA revocation
and an email unsubscribe (rulebook TC-5, CS-2), none where Reg F sets none (US-12)."""

from datetime import UTC, datetime

import pytest

from outreach.policy.deadlines import honour_by

FRIDAY_BEFORE_THANKSGIVING = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("reason", ["tcpa_revoked", "electronic_address_opt_out"])
def test_ten_business_days_skip_weekends_and_federal_holidays(reason):
    # 23, 24, 25, (26 Thanksgiving), 27, 30 November, 1, 2, 3, 4, 7 December.
    assert honour_by(reason, FRIDAY_BEFORE_THANKSGIVING) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("reason", ["medium_opt_out", "dispute", "cease_and_desist"])
def test_holds_without_a_legal_deadline_have_none(reason):
    assert honour_by(reason, FRIDAY_BEFORE_THANKSGIVING) is None
