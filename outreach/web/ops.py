"""The ops view: a page in the Airflow UI and the JSON API behind it, under ``/outreach``.

``ops_router(require_user)`` takes the dependency that checks the Airflow login
(the plugin passes Airflow's own), so every endpoint that returns debtor data
answers only a logged-in user; the page itself holds no data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import HTMLResponse, Response

from outreach import ops_view
from outreach.campaigns import loadable_campaigns
from outreach.rollups import FUNNEL
from outreach.settings import Settings
from outreach.web.events import shared_ledger


def _range(start: date | None, end: date | None, days: int = 1, campaign: str | None = None) -> tuple[date, date]:
    """The range asked for; left out, the ``days`` business days up to the latest with data."""
    if start is None and end is None:
        today = datetime.now(ZoneInfo(Settings.from_env().timezone)).date()
        start, end = ops_view.default_range(shared_ledger(), today, days, campaign)
    elif start is None or end is None:
        start = start or end
        end = end or start
    assert start is not None and end is not None
    try:
        ops_view.check_range(start, end)
    except ops_view.RangeError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return start, end


# The trend shows two weeks up to the latest day unless a range is asked for.
TREND_DAYS = 14


def _read(function: Callable[..., Any], *args: Any) -> Any:
    return function(shared_ledger(), *args)


def ops_router(require_user: Callable[..., Any], paused_dags: Callable[[], set[str]] = set) -> APIRouter:
    """``paused_dags`` names the DAGs paused in the orchestrator: a paused campaign's waiting steps are held by it."""
    router = APIRouter()
    api = APIRouter(prefix="/api/ops", dependencies=[Depends(require_user)])

    @router.get("/ops", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(resources.files("outreach.web").joinpath("ops.html").read_text(encoding="utf-8"))

    @api.get("/campaigns")
    def campaigns() -> dict[str, Any]:
        found = loadable_campaigns(Settings.from_env().campaigns_dir)
        paused = paused_dags()
        return {
            "campaigns": [{"id": c.id, "name": c.name, "dag_id": c.dag_id, "paused": c.dag_id in paused} for c in found]
        }

    @api.get("/funnel")
    def funnel(start: date | None = None, end: date | None = None, campaign: str | None = None) -> dict[str, Any]:
        return _read(ops_view.funnel, *_range(start, end, campaign=campaign), campaign)

    @api.get("/daily")
    def daily(start: date | None = None, end: date | None = None, campaign: str | None = None) -> dict[str, Any]:
        return _read(ops_view.daily, *_range(start, end, TREND_DAYS, campaign), campaign)

    @api.get("/attention")
    def attention(start: date | None = None, end: date | None = None, campaign: str | None = None) -> dict[str, Any]:
        return _read(ops_view.attention, *_range(start, end, campaign=campaign), campaign)

    @api.get("/self-service")
    def self_service(start: date | None = None, end: date | None = None, campaign: str | None = None) -> dict[str, Any]:
        first, last = _range(start, end, campaign=campaign)
        return _read(ops_view.self_service_funnel, first, last, campaign, Settings.from_env().timezone)

    @api.get("/arms")
    def arms(campaign: str | None = None) -> dict[str, Any]:
        ids = [c.id for c in loadable_campaigns(Settings.from_env().campaigns_dir) if campaign in (None, c.id)]
        return _read(ops_view.arms, ids, _range(None, None, campaign=campaign)[1])

    @api.get("/accounts/{account_id}")
    def account(account_id: str = Path(max_length=64)) -> dict[str, Any]:
        found = _read(ops_view.account, account_id)
        if found is None:
            raise HTTPException(
                status_code=404, detail=f"No account {account_id} in the ledger (ids look like AC00000042)."
            )
        return found

    @api.get("/funnel.csv")
    def funnel_csv(start: date | None = None, end: date | None = None, campaign: str | None = None) -> Response:
        first, last = _range(start, end, campaign=campaign)
        data = _read(ops_view.funnel, first, last, campaign)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["start", "end", "campaign", "bucket", "channel", *FUNNEL])
        for row in data["rows"]:
            writer.writerow([first, last, campaign or "all", row["bucket"], row["channel"], *(row[n] for n in FUNNEL)])
        name = f"funnel-{campaign or 'all'}-{first}-{last}.csv"
        return Response(
            out.getvalue(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    router.include_router(api)
    return router
