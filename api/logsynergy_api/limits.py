"""A request-body limit enforced while the body streams in, whatever Content-Length says (or omits).

Starlette's multipart parser writes file parts to temporary files before a route runs, so a chunked
upload would otherwise be read (and spooled) whole before any handler could refuse it."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logsynergy_api.errors import error_body


class BodyTooLarge(Exception):
    """The request body went past the limit; raised into whatever was reading it."""


class BodyLimit:
    """ASGI middleware: count `http.request` body bytes and answer 413 as soon as they pass `max_bytes`.

    The app's own reaction to the aborted read (an error response, an exception) is replaced by the 413,
    sent with `Connection: close` so the server drops the rest of the body instead of reading it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app answering its aborted read: replaced by the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            message = f"request body is over the limit of {self.max_bytes} bytes"
            response = JSONResponse(
                error_body("payload_too_large", message), status_code=413, headers={"Connection": "close"}
            )
            await response(scope, receive, send)
