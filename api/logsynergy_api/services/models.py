"""Model versions: registration from a finished job, listing, activation (and so rollback)."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from logsynergy_api.errors import NotFound
from logsynergy_api.models import Job, ModelVersion, System
from logsynergy_contracts import JobSucceeded, json_values


def list_models(session: Session, system: System) -> list[ModelVersion]:
    query = select(ModelVersion).where(ModelVersion.system_id == system.id)
    return list(session.exec(query.order_by(col(ModelVersion.version).desc())))


def register(session: Session, system: System, job: Job, result: JobSucceeded) -> ModelVersion:
    """A succeeded job's artifact becomes the system's next version (active unless promotion is manual).
    A job registers one version: registering it again returns that version."""
    query = select(ModelVersion).where(ModelVersion.system_id == system.id, ModelVersion.job_id == job.id)
    registered = session.exec(query).first()
    if registered is not None:
        return registered
    last = session.exec(
        select(func.max(ModelVersion.version)).where(ModelVersion.system_id == system.id)
    ).one()
    model = ModelVersion(
        tenant_id=system.tenant_id,
        system_id=system.id,
        version=(last or 0) + 1,
        job_id=job.id,
        artifact_key=result.artifact_prefix,
        sources=list(result.metrics.sources),
        metrics=json_values(result.metrics),
        threshold=result.metrics.threshold,
    )
    session.add(model)
    if system.auto_activate:
        system.active_version = model.version
        session.add(system)
    session.flush()
    return model


def activate(session: Session, system: System, version: int) -> ModelVersion:
    query = select(ModelVersion).where(ModelVersion.system_id == system.id, ModelVersion.version == version)
    model = session.exec(query).first()
    if model is None:
        raise NotFound(f"system {system.name!r} has no model version {version}")
    system.active_version = version
    session.add(system)
    session.flush()
    return model
