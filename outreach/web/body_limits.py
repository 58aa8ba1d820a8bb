"""Request bodies are size-limited before anything reads them: 413, never a signature check.

Every endpoint of the plugin is public (providers and the bank post to it), so a body is
refused as soon as it is known to be too big: at once when ``Content-Length`` says so, and
while it streams otherwise. Nothing larger than its endpoint's limit is ever held in memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Twilio's callbacks and the bank's notices are a few kilobytes; SendGrid batches events.
DEFAULT_LIMIT = 64 * 1024
LIMITS = {"/sendgrid/events": 4 * 1024 * 1024}


class BodyLimit:
    """ASGI middleware refusing request bodies over their path's limit with 413."""

    def __init__(self, app: App, limits: Mapping[str, int] = LIMITS, default: int = DEFAULT_LIMIT):
        self.app = app
        self.limits = dict(limits)
        self.default = default

    def limit_for(self, path: str) -> int:
        return next((limit for suffix, limit in self.limits.items() if path.endswith(suffix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now and tell the endpoint the client has gone: it stops reading.
                    refused = True
                    await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise


async def _refuse(send: Send, limit: int) -> None:
    body = f"request body too large: this endpoint takes at most {limit:,} bytes".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
