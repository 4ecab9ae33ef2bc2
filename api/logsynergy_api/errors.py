"""Domain errors of the control plane, and the one place that maps every domain error to HTTP."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logsynergy.errors import (
    ArtifactError,
    ConfigError,
    InputError,
    InterpreterError,
    LogSynergyError,
    ObjectNotFound,
    ObjectTooLarge,
    StoreError,
)
from logsynergy.options import describe_problems

log = logging.getLogger(__name__)


class NotFound(LogSynergyError):
    """The resource does not exist for this tenant."""


class Conflict(LogSynergyError):
    """The request clashes with the current state (duplicate name, no active model, job finished)."""


class Unauthorized(LogSynergyError):
    """Missing or unknown API key."""


class Forbidden(LogSynergyError):
    """The key is valid but may not do this."""


class Unavailable(LogSynergyError):
    """A backing service (Ray, the object store) cannot be reached."""


# Order matters: the first matching class wins (subclasses before their bases).
STATUS: list[tuple[type[Exception], int, str]] = [
    (NotFound, 404, "not_found"),
    (ObjectNotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (ObjectTooLarge, 413, "payload_too_large"),
    (InputError, 422, "invalid_input"),
    (ConfigError, 422, "invalid_config"),
    (InterpreterError, 502, "interpreter_failed"),
    (Unavailable, 503, "unavailable"),
    (StoreError, 503, "store_unavailable"),
    (ArtifactError, 500, "artifact_error"),
    (LogSynergyError, 400, "bad_request"),
]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"], description="stable, machine-readable")
    message: str = Field(description="for people; names the offending field, line or value")


class ErrorBody(BaseModel):
    """Every error's body."""

    error: ErrorDetail


ERRORS = {
    401: "missing, malformed or unknown API key",
    403: "the key is valid but this needs the admin key",
    404: "unknown here, or another tenant's",
    409: "conflicts with the current state",
    413: "the request body is over its size limit",
    422: "invalid input; the message names the field",
    502: "the interpreter (LLM) failed",
    503: "a backing service (the object store, Ray) is unavailable",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the `ErrorBody` schema."""
    return {status: {"model": ErrorBody, "description": ERRORS[status]} for status in statuses}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def status_of(error: Exception) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(error, cls):
            return status, code
    return 500, "internal"


def describe(problems: Sequence[Mapping[str, Any]], whole: str = "body", limit: int = 5) -> str:
    """A request's validation errors as one line, `where: what; …`; `whole` names the document itself."""
    return describe_problems(problems, whole=whole, limit=limit, skip="body")


def without_server_paths(message: str, request: Request) -> str:
    """The last guard of a message: the platform's directories (state, local store) never leave the API."""
    platform = getattr(request.app.state, "platform", None)
    if platform is None:
        return message
    settings = platform.settings
    roots = [settings.data_dir.resolve()]
    if not settings.store_config.is_s3:
        roots.append(Path(settings.store_config.local_root()).resolve())
    for root in sorted({str(r) for r in roots if r != r.parent}, key=len, reverse=True):
        message = message.replace(root, "<server>")
    return message


def internal_error() -> JSONResponse:
    return JSONResponse(error_body("internal", "internal error; see the server log"), status_code=500)


class CatchUnexpected:
    """Turns an exception no handler took into the 500 body, logging its traceback once. Inside the app
    (unlike an `Exception` handler, which Starlette's ServerErrorMiddleware calls and then re-raises to
    the server: a second traceback and a closed keep-alive connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:  # too late to answer: the server logs it and drops the connection
                raise
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            await internal_error()(scope, receive, send)


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the request's path takes."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves the API as `{"error": {"code", "message"}}` with its status."""

    @app.exception_handler(LogSynergyError)
    async def domain_error(request: Request, error: LogSynergyError) -> JSONResponse:
        status, code = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        message = without_server_paths(str(error), request)
        return JSONResponse(error_body(code, message), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_request", describe(error.errors())), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:  # the framework could not parse the body: invalid input, like bad JSON
            cause = error.__cause__
            reason = "JSON must be UTF-8 text" if isinstance(cause, UnicodeDecodeError) else str(error.detail)
            return JSONResponse(error_body("invalid_request", f"body: {reason}"), status_code=422)
        headers = dict(error.headers or {})
        if error.status_code == 405:  # Starlette's names only the methods of the first route of the path
            headers["Allow"] = ", ".join(allowed_methods(request))
        code = HTTP_CODES.get(error.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(error.detail)), status_code=error.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def last_resort(_request: Request, _error: Exception) -> JSONResponse:
        """For an error outside `CatchUnexpected` (the server logs its traceback)."""
        return internal_error()

    app.add_middleware(CatchUnexpected)
