"""Systems: a tenant's named log sources (mature sources or new targets)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, delete, select

from logsynergy.errors import InputError
from logsynergy.loaders import FORMATS
from logsynergy_api.errors import Conflict, NotFound
from logsynergy_api.models import (
    AlertHook,
    Anomaly,
    Dataset,
    Incident,
    Interpretation,
    Job,
    ModelVersion,
    System,
    Tenant,
)
from logsynergy_api.services.tenants import check_name
from logsynergy_contracts import JobStatus

ROLES = ("source", "target")


def tenant_prefix(tenant: Tenant) -> str:
    return f"tenants/{tenant.name}/"


def create_system(
    session: Session,
    tenant: Tenant,
    name: str,
    fmt: str,
    role: str,
    description: str,
    auto_activate: bool,
    retrain_after_judgements: int | None = None,
) -> System:
    check_name(name, "system")
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown log format {fmt!r}; known formats: {', '.join(FORMATS)}")
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use 'source' or 'target'")
    if find_system(session, tenant, name) is not None:
        raise Conflict(f"system {name!r} already exists")
    system = System(
        tenant_id=tenant.id,
        name=name,
        format=fmt,
        role=role,
        description=" ".join(description.split()),
        auto_activate=auto_activate,
        retrain_after_judgements=retrain_after_judgements,
    )
    session.add(system)
    session.flush()
    return system


def update_system(session: Session, system: System, changes: dict[str, Any]) -> System:
    """Apply the settings a `SystemUpdate` set (a None description or auto_activate: unchanged)."""
    if changes.get("description") is not None:
        system.description = " ".join(str(changes["description"]).split())
    if changes.get("auto_activate") is not None:
        system.auto_activate = bool(changes["auto_activate"])
    if "retrain_after_judgements" in changes:
        system.retrain_after_judgements = changes["retrain_after_judgements"]
    session.add(system)
    session.flush()
    return system


def find_system(session: Session, tenant: Tenant, name: str) -> System | None:
    query = select(System).where(System.tenant_id == tenant.id, System.name == name)
    return session.exec(query).first()


def get_system(session: Session, tenant: Tenant, name: str) -> System:
    system = find_system(session, tenant, name)
    if system is None:
        raise NotFound(f"no system named {name!r}")
    return system


def list_systems(session: Session, tenant: Tenant) -> list[System]:
    return list(session.exec(select(System).where(System.tenant_id == tenant.id).order_by(System.name)))


def delete_system(session: Session, tenant: Tenant, name: str) -> list[str]:
    """Delete a system's rows with its datasets, models, interpretations, hooks and anomaly history (not
    while a job runs); returns the object-store prefixes to remove once the deletion is committed."""
    system = get_system(session, tenant, name)
    busy = session.exec(
        select(Job).where(
            Job.system_id == system.id, col(Job.status).in_((JobStatus.QUEUED, JobStatus.RUNNING))
        )
    ).first()
    if busy is not None:
        raise Conflict(f"system {name!r} has job {busy.id} {busy.status}; cancel it first")
    for table in (Dataset, Interpretation, ModelVersion, AlertHook, Job, Anomaly, Incident):
        session.exec(delete(table).where(table.system_id == system.id))  # type: ignore[attr-defined]
    session.delete(system)
    session.flush()
    prefix = tenant_prefix(tenant)
    return [f"{prefix}{part}/{name}/" for part in ("datasets", "models", "anomalies")]
