"""Retraining from judgements by itself: a system with `retrain_after_judgements` set queues a training
job once that many judgements (of windows or incidents) were made that no training has read yet (made
after its last job started: a job reads the judged windows when it starts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from logsynergy.options import TrainingBasics, TrainingTuning
from logsynergy_api.context import Platform
from logsynergy_api.models import Anomaly, Incident, Job, System, Tenant
from logsynergy_api.services.jobs import create_job, has_labels
from logsynergy_contracts import JobStatus

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def judgements_since(session: Session, system: System, since: datetime | None) -> int:
    """Verdicts given on the system's windows and incidents after `since` (all of them without it)."""
    total = 0
    for table in (Anomaly, Incident):
        query = select(func.count()).select_from(table).where(table.system_id == system.id)
        query = query.where(col(table.judged_at).is_not(None))
        if since is not None:
            query = query.where(col(table.judged_at) > since)
        total += int(session.exec(query).one())
    return total


def last_job(session: Session, system: System) -> Job | None:
    query = select(Job).where(Job.system_id == system.id).order_by(col(Job.created_at).desc())
    return session.exec(query).first()


def last_start(session: Session, system: System) -> datetime | None:
    """When the system's latest started job started (and read its judged windows); None: never."""
    query = select(func.max(Job.started_at)).where(Job.system_id == system.id)
    return session.exec(query).one()


def queue_retraining_if_due(
    session: Session, platform: Platform, tenant: Tenant, system: System
) -> Job | None:
    """The job queued because the system's unread judgements reached its setting, else None (no setting,
    a job of it already queued or running, or too few judgements since its last start). It repeats the
    last job's choices (sources, preset, seed, label budget, options) with `use_feedback` on; a system
    never trained gets the defaults, without target labels where it has none."""
    every = system.retrain_after_judgements
    if every is None:
        return None
    previous = last_job(session, system)
    if previous is not None and previous.status in ACTIVE:
        return None
    made = judgements_since(session, system, last_start(session, system))
    if made < every:
        return None
    if previous is not None:
        config = previous.config
        basics = {name: config[name] for name in TrainingBasics.model_fields if name in config}
        sources = None if previous.sources_chosen_automatically else list(previous.sources)
        tuning = {**TrainingTuning().model_dump(), **(config.get("options") or {})}
        priority = previous.priority
    else:
        basics = TrainingBasics().model_dump()
        if not has_labels(session, system):
            basics["target_labelled"] = 0
        sources, tuning, priority = None, TrainingTuning().model_dump(), 0
    job = create_job(
        session,
        platform,
        tenant,
        target=system.name,
        sources=sources,
        priority=priority,
        preset=basics.get("preset", TrainingBasics().preset),
        seed=basics.get("seed", TrainingBasics().seed),
        target_labelled=basics.get("target_labelled", TrainingBasics().target_labelled),
        options=tuning,
        use_feedback=True,
    )
    job.config = {**job.config, "queued_by": f"{made} judgements no training has read (setting: {every})"}
    session.add(job)
    session.flush()
    return job
