from fastapi import FastAPI
from fastapi.testclient import TestClient

from outreach.web.health import router


def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_health_reports_the_last_finished_run(sqlite_ledger, monkeypatch, tmp_path):
    from datetime import UTC, date, datetime

    monkeypatch.setenv("OUTREACH_LEDGER_URL", str(sqlite_ledger.engine.url))
    sqlite_ledger.start_run("r1", "scheduled__x", date(2026, 11, 20), "accounts.csv")
    sqlite_ledger.update_run("r1", finished_at=datetime(2026, 11, 20, 14, 5, tzinfo=UTC))
    response = client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "last_run_finished_at": "2026-11-20T14:05:00+00:00"}


def test_health_says_503_when_the_ledger_is_unreachable(monkeypatch):
    monkeypatch.setenv("OUTREACH_LEDGER_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    response = client().get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
