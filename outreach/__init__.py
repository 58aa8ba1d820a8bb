"""Collections outreach for overdue card and loan accounts.

The package is plain Python: Airflow DAGs in ``dags/`` call into it, and it never
imports Airflow, so every step can be run and tested without a scheduler.
"""

__version__ = "0.1.0"
