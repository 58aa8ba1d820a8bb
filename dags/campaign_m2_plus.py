"""The Airflow DAG of the m2_plus campaign, built from campaigns/m2_plus.yaml."""

from outreach_dags.campaign import campaign_dag

campaign_dag("m2_plus")
