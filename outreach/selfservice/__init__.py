"""The debtor's self-service page, reached from the link in every message (``outreach.selfservice.app``)."""
