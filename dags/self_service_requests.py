"""The Airflow DAG that asks a person about each request for another repayment plan (Required Actions)."""

from outreach_dags.requests import self_service_requests_dag

self_service_requests_dag()
