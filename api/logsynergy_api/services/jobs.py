"""Training jobs: creation with validated inputs, listing, cancellation, logs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from logsynergy.errors import InputError
from logsynergy.model import PRESETS
from logsynergy_api.context import Platform
from logsynergy_api.errors import Conflict, NotFound, Unavailable
from logsynergy_api.models import Dataset, Job, System, Tenant, utcnow
from logsynergy_api.services.sources import choose_sources
from logsynergy_api.services.systems import get_system
from logsynergy_workers.job_inputs import check_options

FINISHED = ("succeeded", "failed", "cancelled")


def has_labels(session: Session, system: System) -> bool | None:
    """None without any dataset, else whether some dataset is labelled."""
    datasets = list(session.exec(select(Dataset).where(Dataset.system_id == system.id)))
    return any(d.labelled for d in datasets) if datasets else None


def create_job(
    session: Session,
    platform: Platform,
    tenant: Tenant,
    *,
    target: str,
    sources: list[str] | None,
    target_labelled: int,
    preset: str,
    priority: int,
    seed: int,
    options: dict[str, Any],
) -> Job:
    system = get_system(session, tenant, target)
    labelled = has_labels(session, system)
    if labelled is None:
        raise Conflict(f"system {target!r} has no dataset yet: upload one first")
    if target_labelled > 0 and not labelled:
        raise InputError(
            f"system {target!r} has no labelled data; send target_labelled 0 to train from the sources alone"
        )
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    automatic = not sources
    if automatic:
        chosen = [name for name, _score in choose_sources(session, tenant, system)]
    else:
        chosen = list(dict.fromkeys(sources or []))
        for name in chosen:
            if name == target:
                raise InputError(f"the target {target!r} cannot also be a source")
            if not has_labels(session, get_system(session, tenant, name)):
                raise InputError(f"source {name!r} has no labelled dataset")
    job = Job(
        id=uuid.uuid4().hex[:12],
        tenant_id=tenant.id,
        system_id=system.id,
        priority=priority,
        config={
            "target": target,
            "target_labelled": target_labelled,
            "preset": preset,
            "seed": seed,
            "options": check_options(options),
        },
        sources=chosen,
        sources_chosen_automatically=automatic,
        max_attempts=platform.settings.max_attempts,
        progress={"stage": "queued"},
    )
    session.add(job)
    session.flush()
    return job


def list_jobs(session: Session, tenant: Tenant, status: str | None = None) -> list[Job]:
    query = select(Job).where(Job.tenant_id == tenant.id)
    if status:
        query = query.where(Job.status == status)
    return list(session.exec(query.order_by(col(Job.created_at).desc())))


def get_job(session: Session, tenant: Tenant, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.tenant_id != tenant.id:
        raise NotFound(f"no job {job_id!r}")
    return job


def cancel_job(session: Session, platform: Platform, tenant: Tenant, job_id: str) -> Job:
    """Queued jobs stop at once; running ones are stopped in Ray, and the scheduler records the end."""
    job = get_job(session, tenant, job_id)
    if job.status in FINISHED:
        raise Conflict(f"job {job_id} already {job.status}")
    job.cancel_requested = True
    if job.status == "queued":
        job.status, job.finished_at = "cancelled", utcnow()
    elif job.submission_id and platform.launcher is not None:
        try:
            platform.launcher.stop(job.submission_id)
        except Exception as error:
            raise Unavailable(f"could not stop job {job_id} in Ray: {error}") from error
        job.status, job.finished_at = "cancelled", utcnow()
    job.progress = {**job.progress, "stage": job.status if job.status == "cancelled" else "cancelling"}
    session.add(job)
    return job


def job_logs(platform: Platform, job: Job) -> str:
    if not job.submission_id:
        return ""
    if platform.launcher is None:
        raise Unavailable("no Ray cluster is configured (LOGSYNERGY_RAY_ADDRESS)")
    try:
        return platform.launcher.logs(job.submission_id)
    except Exception as error:
        raise Unavailable(f"Ray has no logs for job {job.id}: {error}") from error
