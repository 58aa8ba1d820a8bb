"""The outreach plugin for Airflow's API server.

Its FastAPI app is mounted under ``/outreach``. Airflow does not authenticate
plugin apps, so nothing here returns debtor data: the health endpoint says only
whether the ledger answers and when the last run finished.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


def create_app():
    from fastapi import FastAPI

    from outreach.web.health import router

    app = FastAPI(title="Outreach", description="Collections outreach endpoints")
    app.include_router(router)
    return app


class OutreachPlugin(AirflowPlugin):
    name = "outreach"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/outreach", "name": "Outreach"}]
