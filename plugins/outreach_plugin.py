"""The outreach plugin for Airflow's API server.

Its FastAPI app is mounted under ``/outreach``. Airflow does not authenticate
plugin apps, so nothing here returns debtor data to an unauthenticated caller:
the health endpoint says only whether the ledger answers, the provider
endpoints answer only requests carrying the provider's signature, the
payment endpoint only the bank's, and the ops API only a logged-in Airflow
user. The ops page appears in the Airflow UI's navigation as "Collections".

After each newly recorded event the app updates the ``outreach_events`` asset,
which schedules the events DAG: reactions happen in Airflow within seconds.
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin

# FastAPI reads the login dependency's annotations from this module's names.
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

log = logging.getLogger(__name__)
# Shared with dags/outreach_dags/events.py, which schedules on this asset.
EVENTS_ASSET_URI = "outreach://ledger/events"


def announce_events(count: int) -> None:
    """Record an asset event for the events DAG, as ``POST /api/v2/assets/events`` would."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == EVENTS_ASSET_URI).limit(1))
        if asset is None:
            log.warning("asset %s is unknown (the events DAG is not parsed yet); its next run reacts", EVENTS_ASSET_URI)
            return
        asset_manager.register_asset_change(asset=asset, extra={"events": count}, source_is_api=True, session=session)


def paused_dags() -> set[str]:
    """The DAGs paused in Airflow: a paused campaign sends nothing more, its waiting steps are held by the pause."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return set(session.scalars(select(DagModel.dag_id).where(DagModel.is_paused.is_(True))))


def twilio_auth_token() -> str | None:
    """The auth token the senders use: the ``twilio_default`` connection's password, else the environment."""
    from outreach_hooks import connection_or_none

    connection = connection_or_none("twilio_default")
    return connection.password if connection is not None and connection.password else None


def logged_in_user():
    """Airflow's login check, answering 401 to any caller it does not know.

    Airflow's own check answers a forged or foreign token with 403; to a caller that has not proved who
    it is, the honest answer is 401 (log in), as for no token at all.
    """
    from airflow.api_fastapi.core_api.security import get_user

    bearer = HTTPBearer(auto_error=False)

    async def user(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)):  # noqa: B008
        try:
            return await get_user(request, None, credentials)
        except HTTPException as exc:
            if exc.status_code == status.HTTP_403_FORBIDDEN:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED, "Not authenticated: log in to Airflow", {"WWW-Authenticate": "Bearer"}
                ) from exc
            raise

    return user


def create_app(with_ops: bool = True):
    """The outreach endpoints; ``with_ops=False`` leaves out the ops API (it needs Airflow's login),
    for the provider endpoints served on their own (``outreach_webhooks``)."""
    import os

    from fastapi import FastAPI

    from outreach.preflight import missing_webhook_secrets
    from outreach.web import health, ops, payment_notices, unsubscribe, voice, webhooks
    from outreach.web.body_limits import BodyLimit

    app = FastAPI(title="Outreach", description="Collections outreach endpoints")
    # Every endpoint is public: an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimit)
    app.include_router(health.router)
    app.include_router(voice.router)
    app.include_router(webhooks.router)
    app.include_router(payment_notices.router)
    app.include_router(unsubscribe.router)
    if with_ops:
        # The ops API shows debtor data: Airflow's own login (its JWT, from the UI's cookie or a bearer token).
        app.include_router(ops.ops_router(logged_in_user(), paused_dags))
    app.state.announce_events = announce_events
    app.state.twilio_auth_token = twilio_auth_token
    for refused in missing_webhook_secrets(os.environ):
        log.error("the outreach plugin will refuse every request for %s", refused)
    return app


class OutreachPlugin(AirflowPlugin):
    name = "outreach"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/outreach", "name": "Outreach"}]
    external_views = [
        {
            "name": "Collections",
            "href": "/outreach/ops",
            "destination": "nav",
            "url_route": "collections",
            "category": "browse",
        }
    ]
