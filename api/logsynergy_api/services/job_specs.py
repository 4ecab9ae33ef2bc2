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
from logsynergy_api.services.anomalies import feedback_jsonl, has_judgements, judged_windows
from logsynergy_api.services.interpretations import export_jsonl, list_interpretations
from logsynergy_api.services.systems import find_system, tenant_prefix
from logsynergy_contracts import DatasetKeys, JobKeys, SystemInput, TrainJobSpec

_TUNING_DEFAULTS = TrainingTuning().model_dump()


def job_config(
    target: str,
    *,
    preset: str,
    seed: int,
    target_labelled: int,
    options: Mapping[str, Any],
    use_feedback: bool | None = None,
) -> dict[str, Any]:
    """Job.config of a job request that `JobCreate` validated: the target and the basics at the top
    level, under "options" the tuning fields that differ from their defaults, and "use_feedback" when
    the request chose it (unset: the target's judged windows are used when it has any)."""
    tuning = {name: value for name, value in options.items() if value != _TUNING_DEFAULTS.get(name)}
    config = {
        "target": target,
        "target_labelled": target_labelled,
        "preset": preset,
        "seed": seed,
        "options": tuning,
    }
    if use_feedback is not None:
        config["use_feedback"] = use_feedback
    return config


def job_options(job: Job) -> TrainOptions:
    """The TrainOptions of a job, from its config (ConfigError when a stored config no longer fits)."""
    config = job.config
    basics = {name: config[name] for name in TrainingBasics.model_fields if name in config}
    tuning = config.get("options") or {}
    return TrainOptions.parse({**tuning, **basics}, f"job {job.id}'s options")


def job_keys(tenant: Tenant, job: Job) -> JobKeys:
    return JobKeys(prefix=f"{tenant_prefix(tenant)}jobs/{job.id}/")


def feedback_key(keys: JobKeys, system: str) -> str:
    """Where the control plane puts a target's judged windows (`JudgedWindow` JSONL) for the worker."""
    return f"{keys.prefix}inputs/{system}.feedback.jsonl"


def write_feedback(
    session: Session, store: ObjectStore, tenant: Tenant, job: Job, target: System
) -> str | None:
    """The target's judged windows written beside the job when the job uses them (`use_feedback`:
    unset means when there are any); their key, else None."""
    wanted = job.config.get("use_feedback")
    if wanted is False or (wanted is None and not has_judgements(session, target)):
        return None
    windows = judged_windows(session, store, target)
    if not windows:
        return None
    key = feedback_key(job_keys(tenant, job), target.name)
    store.put_bytes(key, feedback_jsonl(windows))
    return key


def system_input(
    session: Session, store: ObjectStore, tenant: Tenant, job: Job, name: str, *, target: bool = False
) -> SystemInput:
    """A system's datasets, in upload order, and its interpretations, exported beside the job; for the
    target, also its judged windows (`write_feedback`)."""
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
        feedback_key=write_feedback(session, store, tenant, job, system) if target else None,
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
            target=system_input(session, store, tenant, job, target.name, target=True),
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
