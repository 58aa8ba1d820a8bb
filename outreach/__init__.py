"""Collections outreach for overdue card and loan accounts.

The package is plain Python: Airflow DAGs in ``dags/`` call into it, and it never
imports Airflow, so every step can be run and tested without a scheduler.
"""

from outreach import arrow_memory as _arrow_memory

__version__ = "0.1.0"

# Before anything loads pandas or pyarrow: Arrow picks its allocator when it first allocates.
_arrow_memory.prefer_arrow_pool()
