"""The Airflow DAG that reacts to provider callbacks, replies, keypresses and payments within seconds."""

from outreach_dags.events import outreach_events_dag

outreach_events_dag()
