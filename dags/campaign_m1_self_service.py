"""The Airflow DAG of the m1_self_service campaign, built from campaigns/m1_self_service.yaml."""

from outreach_dags.campaign import campaign_dag

campaign_dag("m1_self_service")
