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
        return Client(conn.login, conn.password, http_client=RoutedTwilioHttpClient(_base(conn.host, TWILIO_API)))


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
        return SendGridAPIClient(api_key=conn.password, host=_base(conn.host, SENDGRID_API))


def _base(host: str | None, default: str) -> str:
    if not host:
        return default
    return host if host.startswith(("http://", "https://")) else f"https://{host}"


def provider_environment(twilio_conn_id: str = "twilio_default", sendgrid_conn_id: str = "sendgrid_default") -> dict:
    """The channel settings (as ``ProviderSettings.from_env`` reads them) from the two connections."""
    twilio = BaseHook.get_connection(twilio_conn_id)
    sendgrid = BaseHook.get_connection(sendgrid_conn_id)
    twilio_extra, sendgrid_extra = twilio.extra_dejson, sendgrid.extra_dejson
    env = dict(os.environ)
    env.update(
        {
            "TWILIO_ACCOUNT_SID": twilio.login or "",
            "TWILIO_AUTH_TOKEN": twilio.password or "",
            "TWILIO_BASE_URL": _base(twilio.host, TWILIO_API),
            "OUTREACH_SMS_FROM": twilio_extra.get("sms_from", ""),
            "OUTREACH_VOICE_FROM": twilio_extra.get("voice_from", twilio_extra.get("sms_from", "")),
            "SENDGRID_API_KEY": sendgrid.password or "",
            "SENDGRID_BASE_URL": _base(sendgrid.host, SENDGRID_API),
            "OUTREACH_EMAIL_FROM": sendgrid_extra.get("from_email", ""),
            "OUTREACH_EMAIL_FROM_NAME": sendgrid_extra.get("from_name", "Example Bank"),
        }
    )
    if sendgrid_extra.get("unsubscribe_group"):
        env["OUTREACH_UNSUBSCRIBE_GROUP"] = str(sendgrid_extra["unsubscribe_group"])
    return env
