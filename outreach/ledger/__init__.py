"""The ledger: the source of truth for contact history and every decision."""

from outreach.ledger.store import Ledger, utc

__all__ = ["Ledger", "utc"]
