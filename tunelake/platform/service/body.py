"""What the service reads of a request's body: nothing before the token, never more than the limit.

A caller without the token gets its 401 before one byte of its body is read,
and the connection is closed, so the rest is never read either: an anonymous
150 MB upload (or one dripped in for hours) costs the service nothing. A
caller with the token gets its body as it streams in, counted: a
``Content-Length`` over the limit is refused at once, a chunked body as soon
as it passes the limit. Nothing here keeps a body in memory; a route that
reads ``request.stream()`` holds one chunk at a time.
"""

from __future__ import annotations

import json

from fastapi import HTTPException, status
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tunelake.platform.service.deps import UNAUTHORIZED, holds_token
from tunelake.platform.service.settings import Settings

UPLOADS = "/datasets"
"""The one path whose bodies are files, with the upload limit; every other body is a short document."""

CLOSE = {"Connection": "close"}
"""Sent with every refusal that leaves a body unread: the server stops reading the connection there."""


def too_large(limit: int, path: str) -> str:
    if path == UPLOADS:
        return f"upload larger than {limit} bytes, the service's limit for a dataset: send a smaller file " \
               "(a sample of its rows, or Parquet, which is smaller than CSV)"
    return f"body larger than {limit} bytes: a spec or a query is a short document; send less"


class BodyGate:
    """The ASGI middleware that checks the token and the size before any route reads a body."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.token = settings.token
        self.max_bytes = settings.max_body_bytes
        self.max_upload_bytes = settings.max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if "transfer-encoding" not in headers and length in (None, "0"):
            return await self.app(scope, receive, send)  # no body to guard
        if not holds_token(headers.get("authorization", ""), self.token):
            return await _refuse(send, status.HTTP_401_UNAUTHORIZED, UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
        path = scope["path"]
        limit = self.max_upload_bytes if path == UPLOADS else self.max_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _refuse(send, status.HTTP_413_CONTENT_TOO_LARGE, too_large(limit, path))
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # raised inside the route that reads, so the app answers it like any HTTP error
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large(limit, path), headers=CLOSE)
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, code: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    fields = {"content-type": "application/json", "content-length": str(len(body)), **CLOSE, **(headers or {})}
    await send({"type": "http.response.start", "status": code,
                "headers": [(k.lower().encode(), v.encode()) for k, v in fields.items()]})
    await send({"type": "http.response.body", "body": body})
