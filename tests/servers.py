"""Real HTTP servers on loopback for tests: the provider sandbox and a webhook receiver."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port for the duration of the block."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Sandbox:
    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def configure(self, **settings: Any) -> None:
        self.http.post("/_sandbox/config", json=settings).raise_for_status()

    def reset(self) -> None:
        self.http.post("/_sandbox/reset").raise_for_status()

    def flush(self) -> None:
        self.http.post("/_sandbox/flush").raise_for_status()

    def requests(self, provider: str | None = None, to: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"provider": provider, "to": to}.items() if v}
        return self.http.get("/_sandbox/requests", params=params).json()

    def accepted(self, provider: str) -> list[dict[str, Any]]:
        return [r for r in self.requests(provider) if r["status"] in (201, 202)]

    def callbacks(self) -> list[dict[str, Any]]:
        self.flush()
        return self.http.get("/_sandbox/callbacks").json()

    def texts_to(self, number: str) -> list[str]:
        """The bodies of the texts the sandbox's Twilio took for ``number``."""
        return [r["payload"]["Body"] for r in self.accepted("twilio") if r["payload"]["To"] == number]

    def emails_to(self, address: str) -> list[str]:
        """The bodies of the emails the sandbox's SendGrid took for ``address``."""
        return [
            personalization["substitutions"]["{{body}}"]
            for request in self.accepted("sendgrid")
            for personalization in request["payload"]["personalizations"]
            if personalization["to"][0]["email"] == address
        ]

    def inbound(self, sender: str, to: str, body: str, sent_at: str | None = None) -> dict[str, Any]:
        message = {"from": sender, "to": to, "body": body, **({"sent_at": sent_at} if sent_at else {})}
        return self.http.post("/_sandbox/inbound", json=message).json()

    def public_key(self) -> str:
        return self.http.get("/_sandbox/sendgrid/public-key").json()["public_key"]


def receiver_app() -> tuple[FastAPI, list[dict[str, Any]]]:
    """A webhook receiver that keeps every request it gets."""
    app = FastAPI()
    received: list[dict[str, Any]] = []

    @app.post("/{path:path}")
    async def receive(path: str, request: Request) -> dict[str, str]:
        body = await request.body()
        received.append(
            {"path": "/" + path, "url": str(request.url), "headers": dict(request.headers), "body": body.decode()}
        )
        return {"ok": "yes"}

    return app, received


class DelayingProxy:
    """A TCP proxy in front of a server that holds every answer back ``delay`` seconds.

    The request reaches the server at once and is acted on; its answer arrives after the client
    has given up: the fault of a provider that accepted a message but answered too late.
    """

    def __init__(self, upstream: str, delay: float):
        host, port = upstream.rsplit("//", 1)[-1].split(":")
        self.upstream = (host, int(port))
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, 0.0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, self.delay), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket, delay: float) -> None:
        try:
            while data := source.recv(65536):
                if delay:
                    time.sleep(delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
