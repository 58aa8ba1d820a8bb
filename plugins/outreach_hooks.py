"""Airflow hooks for the providers, in the style of Airflow's provider hooks:
connection in, client (or the channel settings built from it) out.

Connections (Admin -> Connections, or AIRFLOW_CONN_* environment variables):
- ``twilio_default``: login = account SID, password = auth token, host = API base URL
  (empty for the real Twilio), extra = {"sms_from": "+1...", "voice_from": "+1..."}
- ``sendgrid_default``: password = API key, host = API base URL (empty for the real
  SendGrid), extra = {"from_email": "...", "from_name": "...", "unsubscribe_group": 123}
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook

TWILIO_API = "https://api.twilio.com"
SENDGRID_API = "https://api.sendgrid.com"


class TwilioHook(BaseHook):
    conn_name_attr = "twilio_conn_id"
    default_conn_name = "twilio_default"
    conn_type = "http"
    hook_name = "Twilio"

    def __init__(self, twilio_conn_id: str = default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.twilio_conn_id = twilio_conn_id

    def get_conn(self):
        from twilio.rest import Client

        from outreach.channels.providers import RoutedTwilioHttpClient

        conn = self.get_connection(self.twilio_conn_id)
        return Client(conn.login, conn.password, http_client=RoutedTwilioHttpClient(_base(conn, TWILIO_API)))


class SendGridHook(BaseHook):
    conn_name_attr = "sendgrid_conn_id"
    default_conn_name = "sendgrid_default"
    conn_type = "http"
    hook_name = "SendGrid"

    def __init__(self, sendgrid_conn_id: str = default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.sendgrid_conn_id = sendgrid_conn_id

    def get_conn(self):
        from sendgrid import SendGridAPIClient

        conn = self.get_connection(self.sendgrid_conn_id)
        return SendGridAPIClient(api_key=conn.password, host=_base(conn, SENDGRID_API))


def _base(conn: Any, default: str) -> str:
    """The API base URL a connection names, keeping its scheme and port.

    A connection written as a URI (``http://AC...:token@sandbox:4010``) arrives as type ``http``,
    host ``sandbox`` and port 4010; one typed into the form may put the scheme in the host.
    """
    host = (conn.host or "").rstrip("/")
    if not host:
        return default
    if host.startswith(("http://", "https://")):
        base = host
    else:
        scheme = next((s for s in (conn.schema, conn.conn_type) if s in ("http", "https")), "https")
        base = f"{scheme}://{host}"
    if conn.port and urlsplit(base).port is None:
        base = f"{base}:{conn.port}"
    return base


def connection_or_none(conn_id: str) -> Any:
    """The Airflow connection ``conn_id``, or None when it is not defined (the environment then serves)."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def provider_environment(twilio_conn_id: str = "twilio_default", sendgrid_conn_id: str = "sendgrid_default") -> dict:
    """The channel settings (as ``ProviderSettings.from_env`` reads them): each connection that is
    defined takes the place of the environment's values; without it, the environment serves."""
    env = dict(os.environ)
    twilio = connection_or_none(twilio_conn_id)
    if twilio is not None:
        extra = twilio.extra_dejson
        env.update(
            {
                "TWILIO_ACCOUNT_SID": twilio.login or "",
                "TWILIO_AUTH_TOKEN": twilio.password or "",
                "TWILIO_BASE_URL": _base(twilio, TWILIO_API),
                "OUTREACH_SMS_FROM": extra.get("sms_from", ""),
                "OUTREACH_VOICE_FROM": extra.get("voice_from", extra.get("sms_from", "")),
            }
        )
    sendgrid = connection_or_none(sendgrid_conn_id)
    if sendgrid is not None:
        extra = sendgrid.extra_dejson
        env.update(
            {
                "SENDGRID_API_KEY": sendgrid.password or "",
                "SENDGRID_BASE_URL": _base(sendgrid, SENDGRID_API),
                "OUTREACH_EMAIL_FROM": extra.get("from_email", ""),
                "OUTREACH_EMAIL_FROM_NAME": extra.get("from_name", env.get("OUTREACH_EMAIL_FROM_NAME", "")),
            }
        )
        if extra.get("unsubscribe_group"):
            env["OUTREACH_UNSUBSCRIBE_GROUP"] = str(extra["unsubscribe_group"])
    return env
