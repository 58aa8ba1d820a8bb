-- The ledger lives in its own database beside Airflow's metadata database.
CREATE DATABASE outreach OWNER airflow;
