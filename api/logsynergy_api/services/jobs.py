"""Training jobs: creation, listing, cancellation, logs (state changes: `job_lifecycle`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from logsynergy.errors import InputError
from logsynergy_api.context import Platform
from logsynergy_api.errors import Conflict, NotFound, Unavailable
from logsynergy_api.models import Dataset, Job, System, Tenant
from logsynergy_api.services.job_lifecycle import JobLifecycle, progress_values
from logsynergy_api.services.job_specs import job_config
from logsynergy_api.services.sources import choose_sources
from logsynergy_api.services.systems import get_system
from logsynergy_contracts import JobProgress, JobStatus


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
    priority: int,
    preset: str,
    seed: int,
    target_labelled: int,
    options: Mapping[str, Any],
    use_feedback: bool | None = None,
) -> Job:
    """Queue a training job of `target`. The training fields arrive as `JobCreate` validated them
    (`TrainingBasics` and, in `options`, `TrainingTuning`); this checks them against the data."""
    system = get_system(session, tenant, target)
    labelled = has_labels(session, system)
    if labelled is None:
        raise Conflict(f"system {target!r} has no dataset yet: upload one first")
    if target_labelled > 0 and not labelled:
        raise InputError(
            f"system {target!r} has no labelled data; send target_labelled 0 to train from the sources alone"
        )
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
        status=JobStatus.QUEUED,
        config=job_config(
            target,
            preset=preset,
            seed=seed,
            target_labelled=target_labelled,
            options=options,
            use_feedback=use_feedback,
        ),
        sources=chosen,
        sources_chosen_automatically=automatic,
        max_attempts=platform.settings.max_attempts,
        progress=progress_values(JobProgress()),
    )
    session.add(job)
    session.flush()
    return job


def list_jobs(session: Session, tenant: Tenant, status: JobStatus | str | None = None) -> list[Job]:
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
    """Queued jobs stop at once, running ones are stopped in Ray (see `JobLifecycle.cancel`)."""
    job = get_job(session, tenant, job_id)
    JobLifecycle(platform).cancel(session, job)
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
