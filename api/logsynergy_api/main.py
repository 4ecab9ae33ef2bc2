"""The FastAPI application of the control plane."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from logsynergy_api.cleanup import clean_leftovers
from logsynergy_api.context import Platform
from logsynergy_api.errors import error_body, install_error_handlers
from logsynergy_api.ingester import Ingester
from logsynergy_api.limits import BodyLimit
from logsynergy_api.routes import (
    anomalies,
    console,
    health,
    hooks,
    incidents,
    interpretations,
    jobs,
    models,
    systems,
    tenants,
)
from logsynergy_api.scheduler import Scheduler
from logsynergy_api.services.routing import publish_routes
from logsynergy_api.services.tenants import ensure_admin

log = logging.getLogger("logsynergy_api")

DESCRIPTION = """Onboard systems, upload their logs, train detectors by transfer from mature systems, and
manage model versions. Every request carries `Authorization: Bearer <key>`."""


def bootstrap(platform: Platform) -> str | None:
    """Create the admin tenant (returns a generated admin key, to print once) and publish the routes.

    Unlike the routes' `commit_and_publish`, this publishes in the transaction that creates the admin
    (`publish_routes` commits it): should publishing fail, a generated key is rolled back rather than
    stored without ever being printed."""
    key = platform.settings.bootstrap_api_key
    with Session(platform.engine, expire_on_commit=False) as session:
        generated = ensure_admin(session, key.get_secret_value() if key else None)
        session.flush()
        publish_routes(session, platform.store)
    return generated


def create_app(platform: Platform, *, run_scheduler: bool = True) -> FastAPI:
    """The API over `platform`; with `run_scheduler`, the job scheduler runs while the app does (given a
    Ray cluster), and so does the anomaly ingester unless the ANOMALY_INGEST setting turns it off."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        clean_leftovers(platform)
        scheduler = None
        if run_scheduler and platform.launcher is not None:
            scheduler = Scheduler(platform)
            scheduler.start()
        app.state.scheduler = scheduler
        ingester = None
        if run_scheduler and platform.settings.anomaly_ingest:
            ingester = Ingester(platform)
            ingester.start()
        app.state.ingester = ingester
        try:
            yield
        finally:
            if ingester is not None:
                ingester.stop()
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(
        title="LogSynergy Platform",
        version=console.PLATFORM_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.platform = platform
    install_error_handlers(app)
    limit = platform.settings.max_upload_bytes + 1024 * 1024

    @app.middleware("http")
    async def refuse_oversized(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            message = f"request body of {int(length)} bytes is over the limit of {limit} bytes"
            return JSONResponse(error_body("payload_too_large", message), status_code=413)
        return await call_next(request)

    app.add_middleware(BodyLimit, max_bytes=limit)  # counts streamed bodies too (no Content-Length)

    routers = (health, tenants, systems, interpretations, jobs, models, hooks, anomalies, incidents)
    for module in (*routers, console):
        app.include_router(module.router)
    console.mount_console(app, platform.settings.bench_dir)
    return app
