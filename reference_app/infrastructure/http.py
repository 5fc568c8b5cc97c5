"""Core: HTTP hardening every app needs: a cap on request bodies, and errors that never echo
the request back (a 10 MB body used to come back whole inside its 422)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class LimitBodySize:
    """ASGI middleware: a body over ``max_bytes`` gets 413 before it is read whole (by its
    Content-Length, or while it streams in when there is none)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def counting_receive() -> Message:
            # Over the cap: answer 413 now, and tell the app the client went away.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                refused = True
                await self._refuse(send)
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # once refused, whatever the app answers is dropped
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, send: Send) -> None:
        body = b'{"detail":"request body too large (MAX_REQUEST_BYTES)"}'
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


async def validation_error_without_input(request: Request, exc: Any) -> JSONResponse:
    """FastAPI's 422, less the ``input`` (and ``ctx``) of each error: say what is wrong and
    where, never repeat what was sent."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {key: value for key, value in error.items() if key not in ("input", "ctx", "url")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
