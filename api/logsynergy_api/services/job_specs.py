"""A job's definition in the database (`Job.config`) and what a training worker gets from it: the
`TrainJobSpec` in the object store (see docs/internals.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from logsynergy.errors import ConfigError
from logsynergy.options import TrainingBasics, TrainingTuning, TrainOptions, describe_errors
from logsynergy.store import ObjectStore
from logsynergy_api.errors import Conflict
from logsynergy_api.models import Dataset, Job, System, Tenant
from logsynergy_api.services.interpretations import export_jsonl, list_interpretations
from logsynergy_api.services.systems import find_system, tenant_prefix
from logsynergy_contracts import DatasetKeys, JobKeys, SystemInput, TrainJobSpec

_TUNING_DEFAULTS = TrainingTuning().model_dump()


def job_config(
    target: str, *, preset: str, seed: int, target_labelled: int, options: Mapping[str, Any]
) -> dict[str, Any]:
    """Job.config of a job request that `JobCreate` validated: the target and the basics at the top
    level, and under "options" the tuning fields that differ from their defaults."""
    tuning = {name: value for name, value in options.items() if value != _TUNING_DEFAULTS.get(name)}
    return {
        "target": target,
        "target_labelled": target_labelled,
        "preset": preset,
        "seed": seed,
        "options": tuning,
    }


def job_options(job: Job) -> TrainOptions:
    """The TrainOptions of a job, from its config (ConfigError when a stored config no longer fits)."""
    config = job.config
    basics = {name: config[name] for name in TrainingBasics.model_fields if name in config}
    tuning = config.get("options") or {}
    return TrainOptions.parse({**tuning, **basics}, f"job {job.id}'s options")


def job_keys(tenant: Tenant, job: Job) -> JobKeys:
    return JobKeys(prefix=f"{tenant_prefix(tenant)}jobs/{job.id}/")


def system_input(session: Session, store: ObjectStore, tenant: Tenant, job: Job, name: str) -> SystemInput:
    """A system's datasets, in upload order, and its interpretations, exported beside the job."""
    system = find_system(session, tenant, name)
    if system is None:
        raise Conflict(f"system {name!r} of job {job.id} no longer exists")
    query = select(Dataset).where(Dataset.system_id == system.id).order_by(col(Dataset.created_at))
    datasets = [DatasetKeys(log_key=d.log_key, labels_key=d.labels_key) for d in session.exec(query)]
    if not datasets:
        raise Conflict(f"system {name!r} of job {job.id} has no dataset any more")
    interpretations_key = None
    rows = list_interpretations(session, system)
    if rows:
        interpretations_key = job_keys(tenant, job).interpretations_in(name)
        store.put_bytes(interpretations_key, export_jsonl(rows).encode())
    return SystemInput(
        name=system.name,
        format=system.format,
        description=system.description,
        datasets=datasets,
        interpretations_key=interpretations_key,
    )


def write_spec(session: Session, store: ObjectStore, job: Job, use_gpu: bool) -> JobKeys:
    """Write the spec of the job's next attempt (removing an earlier attempt's result); its keys."""
    tenant = session.get(Tenant, job.tenant_id)
    target = session.get(System, job.system_id)
    assert tenant is not None and target is not None
    keys = job_keys(tenant, job)
    try:
        spec = TrainJobSpec(
            job_id=job.id,
            tenant=tenant.name,
            target=system_input(session, store, tenant, job, target.name),
            sources=[system_input(session, store, tenant, job, name) for name in job.sources],
            options=job_options(job),
            use_gpu=use_gpu,
            artifact_prefix=f"{tenant_prefix(tenant)}models/{target.name}/{job.id}/",
            keys=keys,
        )
    except ValidationError as error:  # a system's stored fields no longer fit the spec
        raise ConfigError(f"job {job.id}'s spec: {describe_errors(error)}") from None
    store.delete(keys.result)
    store.put_json(keys.spec, spec.model_dump(mode="json"))
    return keys
