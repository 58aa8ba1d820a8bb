"""Reading a source of overdue accounts into a validated accounts table."""

from outreach.accounts.schema import ACCOUNT_COLUMNS, FLAGS
from outreach.accounts.sources import SourceError, SourceSpec, file_spec, load_spec, read_accounts, read_source
from outreach.accounts.validate import PullResult, QuarantinedRow, validate_frame, validate_records, validate_table

__all__ = [
    "ACCOUNT_COLUMNS",
    "FLAGS",
    "PullResult",
    "QuarantinedRow",
    "SourceError",
    "SourceSpec",
    "file_spec",
    "load_spec",
    "read_accounts",
    "read_source",
    "validate_frame",
    "validate_records",
    "validate_table",
]
