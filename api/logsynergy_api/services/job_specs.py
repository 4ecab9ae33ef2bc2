"""What a training worker gets: the job spec in the object store (see docs/internals.md)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from logsynergy.store import ObjectStore
from logsynergy_api.errors import Conflict
from logsynergy_api.models import Dataset, Job, System, Tenant
from logsynergy_api.services.interpretations import export_jsonl, list_interpretations
from logsynergy_api.services.systems import find_system, tenant_prefix


def job_prefix(tenant: Tenant, job: Job) -> str:
    return f"{tenant_prefix(tenant)}jobs/{job.id}/"


def system_input(session: Session, store: ObjectStore, tenant: Tenant, job: Job, name: str) -> dict[str, Any]:
    system = find_system(session, tenant, name)
    if system is None:
        raise Conflict(f"system {name!r} of job {job.id} no longer exists")
    query = select(Dataset).where(Dataset.system_id == system.id).order_by(col(Dataset.created_at))
    datasets = [{"log_key": d.log_key, "labels_key": d.labels_key} for d in session.exec(query)]
    if not datasets:
        raise Conflict(f"system {name!r} of job {job.id} has no dataset any more")
    interpretations_key = None
    rows = list_interpretations(session, system)
    if rows:
        interpretations_key = f"{job_prefix(tenant, job)}inputs/{name}.interpretations.jsonl"
        store.put_bytes(interpretations_key, export_jsonl(rows).encode())
    return {
        "name": system.name,
        "format": system.format,
        "description": system.description,
        "datasets": datasets,
        "interpretations_key": interpretations_key,
    }


def write_spec(session: Session, store: ObjectStore, job: Job, use_gpu: bool) -> str:
    """Write the spec of the job's next attempt; returns its key."""
    tenant = session.get(Tenant, job.tenant_id)
    target = session.get(System, job.system_id)
    assert tenant is not None and target is not None
    prefix = job_prefix(tenant, job)
    config = job.config
    spec = {
        "job_id": job.id,
        "tenant": tenant.name,
        "preset": config.get("preset", "cpu"),
        "seed": config.get("seed", 0),
        "target_labelled": config.get("target_labelled"),
        "options": config.get("options", {}),
        "use_gpu": use_gpu,
        "target": system_input(session, store, tenant, job, target.name),
        "sources": [system_input(session, store, tenant, job, name) for name in job.sources],
        "artifact_prefix": f"{tenant_prefix(tenant)}models/{target.name}/{job.id}/",
        "progress_key": prefix + "progress.json",
        "result_key": prefix + "result.json",
        "interpretations_out_key": prefix + "interpretations.jsonl",
    }
    store.delete(spec["result_key"])
    store.put_json(prefix + "spec.json", spec)
    return prefix + "spec.json"
