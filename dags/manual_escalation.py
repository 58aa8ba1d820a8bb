"""The Airflow DAG ops trigger to escalate accounts by hand (target stage, accounts or segment, reason)."""

from outreach_dags.escalation import manual_escalation_dag

manual_escalation_dag()
