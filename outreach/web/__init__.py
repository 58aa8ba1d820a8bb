"""HTTP endpoints served by the Airflow plugin (FastAPI routers, no Airflow import)."""
