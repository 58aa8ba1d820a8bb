"""The provider and debtor-facing endpoints on a server of their own.

The plugin serves them inside Airflow's API server, which is enough for most books. A
short code sending 100 texts a second gets 200 to 300 status callbacks a second back;
Airflow's API server, which also serves the UI, the REST API and the tasks' execution
API, spends several times more per request than the endpoints themselves. This app is
the same endpoints (everything but the ops API, which needs Airflow's login), mounted at
the same ``/outreach`` paths, for uvicorn to serve with its own workers:

    uvicorn outreach_webhooks:app --app-dir plugins --host 0.0.0.0 --port 8090 --workers 2

Point ``OUTREACH_CALLBACK_BASE_URL`` at it. It records to the same ledger and wakes the
events DAG through Airflow's metadata database, as the plugin does.
"""

from __future__ import annotations

from fastapi import FastAPI
from outreach_plugin import create_app

app = FastAPI(title="Outreach webhooks", docs_url=None, redoc_url=None, openapi_url=None)
app.mount("/outreach", create_app(with_ops=False))
