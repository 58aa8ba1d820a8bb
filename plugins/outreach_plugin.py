"""The outreach plugin for Airflow's API server.

Its FastAPI app is mounted under ``/outreach``. Airflow does not authenticate
plugin apps, so nothing here returns debtor data to an unauthenticated caller:
the health endpoint says only whether the ledger answers, and the Twilio
endpoints answer only requests carrying Twilio's signature.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


def create_app():
    from fastapi import FastAPI

    from outreach.web import health, voice, webhooks

    app = FastAPI(title="Outreach", description="Collections outreach endpoints")
    app.include_router(health.router)
    app.include_router(voice.router)
    app.include_router(webhooks.router)
    return app


class OutreachPlugin(AirflowPlugin):
    name = "outreach"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/outreach", "name": "Outreach"}]
