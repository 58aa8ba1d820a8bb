"""Reading a source of overdue accounts into a validated accounts table."""

from outreach.accounts.schema import ACCOUNT_COLUMNS, FLAGS
from outreach.accounts.source import SourceError, read_accounts
from outreach.accounts.validate import PullResult, QuarantinedRow

__all__ = ["ACCOUNT_COLUMNS", "FLAGS", "PullResult", "QuarantinedRow", "SourceError", "read_accounts"]
