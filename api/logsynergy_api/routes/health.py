"""Liveness and Prometheus metrics."""

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, text
from sqlmodel import select

from logsynergy_api.deps import SessionDep
from logsynergy_api.models import Dataset, Job, ModelVersion, System, Tenant
from logsynergy_api.services.anomaly_ingest import DROPPED, INGESTED, PURGED, REJECTED
from logsynergy_contracts import JobStatus

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, str]:
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return {"status": "ok"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(session: SessionDep, request: Request) -> Response:
    """Counts of tenants, systems, datasets, models and jobs by status, and this process's anomaly
    ingestion, for Prometheus."""
    registry = CollectorRegistry()
    objects = Gauge("logsynergy_objects", "rows by kind", ["kind"], registry=registry)
    for kind, table in (
        ("tenant", Tenant),
        ("system", System),
        ("dataset", Dataset),
        ("model", ModelVersion),
    ):
        objects.labels(kind).set(session.exec(select(func.count()).select_from(table)).one())
    jobs = Gauge("logsynergy_jobs", "training jobs by status", ["status"], registry=registry)
    for status in JobStatus:
        jobs.labels(status.value).set(0)
    for status, count in session.exec(select(Job.status, func.count()).group_by(Job.status)):
        jobs.labels(status).set(count)
    up = Gauge("logsynergy_scheduler_up", "1 when this process runs the job scheduler", registry=registry)
    up.set(_running(request.app.state, "scheduler"))
    ingesting = Gauge(
        "logsynergy_anomaly_ingester_up", "1 when this process runs the anomaly ingester", registry=registry
    )
    ingesting.set(_running(request.app.state, "ingester"))
    counts = request.app.state.platform.counts
    batches = Counter(
        "logsynergy_anomaly_batches",
        "anomaly batches this process took from the inbox, by outcome",
        ["outcome"],
        registry=registry,
    )
    for outcome, name in (("ingested", INGESTED), ("rejected", REJECTED), ("dropped", DROPPED)):
        batches.labels(outcome).inc(counts.get(name))
    purged = Counter(
        "logsynergy_anomalies_purged", "anomalies this process purged (retention)", registry=registry
    )
    purged.inc(counts.get(PURGED))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _running(state: Any, name: str) -> int:
    """1 when the app's `name` (scheduler or ingester, set by main's lifespan) has a live thread."""
    worker = getattr(state, name, None)
    return int(worker is not None and worker.running)
