"""Message refs: keyed, opaque, expiring; never computable from an account number."""

from __future__ import annotations

import hashlib
import stat
from datetime import date, timedelta

import pytest

from outreach.links import LIFETIMES, LinkError, LinkKeys

STEP = "AC00000042|m1_self_service|reminder-email|email|2026-11-20"
SENT_ON = date(2026, 11, 20)


def test_a_ref_is_short_url_safe_and_names_no_account():
    ref = LinkKeys(b"k" * 40).ref(STEP)
    assert len(ref) == 16 and ref.replace("-", "").replace("_", "").isalnum()
    assert "42" not in ref and ref == LinkKeys(b"k" * 40).ref(STEP)


def test_without_the_secret_no_one_can_compute_a_debtors_ref():
    deployment = LinkKeys(b"the-deployments-secret-of-forty-bytes!!!")
    guesses = [
        LinkKeys(b"another-secret-of-the-same-length-!!!!!!").ref(STEP),
        hashlib.sha256(b"AC00000042").hexdigest()[:16],  # what an unkeyed hash of the account gave
    ]
    for guess in guesses:
        with pytest.raises(LinkError, match="not issued by us"):
            deployment.check(guess, STEP, SENT_ON, "unsubscribe", SENT_ON)


def test_a_ref_answers_only_for_its_own_step():
    keys = LinkKeys(b"k" * 40)
    other = STEP.replace("AC00000042", "AC00000043")
    with pytest.raises(LinkError):
        keys.check(keys.ref(other), STEP, SENT_ON, "pay", SENT_ON)


@pytest.mark.parametrize("purpose", sorted(LIFETIMES))
def test_a_ref_expires_after_its_purposes_lifetime(purpose):
    keys = LinkKeys(b"k" * 40)
    last_day = SENT_ON + LIFETIMES[purpose]
    keys.check(keys.ref(STEP), STEP, SENT_ON, purpose, last_day)
    with pytest.raises(LinkError, match="expired"):
        keys.check(keys.ref(STEP), STEP, SENT_ON, purpose, last_day + timedelta(days=1))


def test_the_deployment_secret_keys_the_refs(tmp_path):
    configured = LinkKeys.from_env(tmp_path, {"OUTREACH_LINK_SECRET": "s" * 40})
    assert configured.ref(STEP) == LinkKeys(b"s" * 40).ref(STEP)
    assert not (tmp_path / "link-secret").exists()


def test_a_development_machine_keeps_one_private_key_of_its_own(tmp_path):
    first = LinkKeys.from_env(tmp_path, {})
    assert LinkKeys.from_env(tmp_path, {}).ref(STEP) == first.ref(STEP)
    assert stat.S_IMODE((tmp_path / "link-secret").stat().st_mode) == 0o600
    assert LinkKeys.from_env(tmp_path / "elsewhere", {}).ref(STEP) != first.ref(STEP)
