"""Domain errors of the control plane, and the one place that maps every domain error to HTTP."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def status_of(error: Exception) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(error, cls):
            return status, code
    return 500, "internal"


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves the API as `{"error": {"code", "message"}}` with its status."""

    @app.exception_handler(LogSynergyError)
    async def domain_error(_request: Request, error: LogSynergyError) -> JSONResponse:
        status, code = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(code, str(error)), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors()[:5]:
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
        return JSONResponse(error_body("invalid_request", "; ".join(problems)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse(error_body(code, str(error.detail)), status_code=error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body("internal", "internal error; see the server log"), status_code=500)
