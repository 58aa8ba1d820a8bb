"""Oversized request bodies are refused with 413 before the endpoint reads them."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from outreach.web.body_limits import BodyLimit


def app_with_limit():
    app = FastAPI()
    app.add_middleware(BodyLimit, limits={"/events": 1000}, default=100)
    seen: list[int] = []

    @app.post("/{path:path}")
    async def read(request: Request) -> dict:
        seen.append(len(await request.body()))
        return {"read": seen[-1]}

    return TestClient(app), seen


def test_a_body_within_its_endpoints_limit_is_read():
    client, seen = app_with_limit()
    assert client.post("/status", content=b"x" * 100).json() == {"read": 100}
    assert client.post("/sendgrid/events", content=b"x" * 1000).status_code == 200
    assert seen == [100, 1000]


def test_a_declared_oversized_body_is_refused_before_the_endpoint_runs():
    client, seen = app_with_limit()
    response = client.post("/status", content=b"x" * 101)
    assert response.status_code == 413 and "at most 100 bytes" in response.text
    assert client.post("/sendgrid/events", content=b"x" * 1001).status_code == 413
    assert seen == []


def test_a_streamed_body_is_cut_off_as_soon_as_it_passes_the_limit():
    client, seen = app_with_limit()

    def chunks():
        for _ in range(50):
            yield b"x" * 40

    response = client.post("/status", content=chunks())
    assert response.status_code == 413
    assert seen == [], "the endpoint never got the body"
