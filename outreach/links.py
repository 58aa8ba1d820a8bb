"""The opaque reference a message carries instead of its account number.

Every message sent gets one reference, ``ref``: an HMAC of its step key under the
deployment's link secret, 16 URL-safe characters. It is the token in the message's pay and
unsubscribe links and the ``step`` the providers echo back in status callbacks and event
custom args, so no account number leaves for the providers or sits in a link. It cannot be
computed from an account number without the secret, and the ledger remembers which step it
stands for and when it was issued, so a link stops working after its purpose's lifetime.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

# How long after its business date a reference still answers, by what it is used for.
LIFETIMES = {
    "pay": timedelta(days=30),
    # CAN-SPAM asks an unsubscribe to keep working for at least 30 days after the email.
    "unsubscribe": timedelta(days=60),
    # SendGrid reports opens, bounces and spam reports long after the send.
    "callback": timedelta(days=90),
}
REF_BYTES = 12
DEVELOPMENT_KEY_FILE = "link-secret"


class LinkError(ValueError):
    """A reference that is unknown, forged or expired; the message says which, never whose."""


@dataclass(frozen=True)
class LinkKeys:
    secret: bytes

    @classmethod
    def from_env(cls, home: Path, env: Mapping[str, str] | None = None) -> LinkKeys:
        """The deployment's ``OUTREACH_LINK_SECRET``; on the embedded defaults, a key kept in ``home``.

        Production refuses to start without the secret (``outreach.preflight``), so the
        kept key only ever serves a development machine.
        """
        env = os.environ if env is None else env
        secret = (env.get("OUTREACH_LINK_SECRET") or "").strip()
        if secret:
            return cls(secret.encode())
        return cls(_development_key(home / DEVELOPMENT_KEY_FILE))

    def ref(self, step_key: str) -> str:
        digest = hmac.new(self.secret, f"step|{step_key}".encode(), hashlib.sha256).digest()[:REF_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def check(self, ref: str, step_key: str, issued_on: date, purpose: str, today: date) -> None:
        """Raise ``LinkError`` unless ``ref`` is this key's reference of ``step_key`` and still alive."""
        if not hmac.compare_digest(self.ref(step_key), ref):
            raise LinkError("this link was not issued by us")
        if today > issued_on + LIFETIMES[purpose]:
            raise LinkError(f"this link expired {LIFETIMES[purpose].days} days after it was sent")


def _development_key(path: Path) -> bytes:
    if path.exists():
        return _written(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32).encode()
    try:
        # Exclusive create: two workers starting at once agree on the first key written.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _written(path)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    log.warning("OUTREACH_LINK_SECRET is not set: message links are keyed with %s (development only)", path)
    return key


def _written(path: Path) -> bytes:
    """The key in ``path``, once the worker that created it has written it."""
    for _ in range(50):
        key = path.read_bytes().strip()
        if key:
            return key
        time.sleep(0.02)
    raise LinkError(f"{path} is empty: delete it, or set OUTREACH_LINK_SECRET")
