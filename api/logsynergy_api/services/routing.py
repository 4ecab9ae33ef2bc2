"""The serving routing table (`routing/routes.json`): who may call, and which version serves a system."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from logsynergy.errors import ObjectNotFound
from logsynergy.store import ObjectStore
from logsynergy_api.models import AlertHook, ApiKey, ModelVersion, System, Tenant

ROUTES_KEY = "routing/routes.json"


def build_routes(session: Session) -> dict[str, Any]:
    tenants = {t.id: t.name for t in session.exec(select(Tenant))}
    keys = {k.key_hash: tenants[k.tenant_id] for k in session.exec(select(ApiKey)) if k.tenant_id in tenants}
    systems: dict[str, dict[str, Any]] = {}
    by_id: dict[int, str] = {}
    for system in session.exec(select(System)):
        name = f"{tenants[system.tenant_id]}/{system.name}"
        by_id[system.id or 0] = name
        active = str(system.active_version) if system.active_version is not None else None
        systems[name] = {"active": active, "versions": {}, "hooks": []}
    for model in session.exec(select(ModelVersion)):
        if model.system_id in by_id:
            systems[by_id[model.system_id]]["versions"][str(model.version)] = model.artifact_key
    for hook in session.exec(select(AlertHook)):
        if hook.system_id in by_id:
            systems[by_id[hook.system_id]]["hooks"].append(hook.url)
    return {"keys": keys, "systems": systems}


def publish_routes(session: Session, store: ObjectStore) -> int:
    """Rewrite the routing table from the database; returns its new revision."""
    try:
        revision = int(store.get_json(ROUTES_KEY).get("revision", 0)) + 1
    except ObjectNotFound:
        revision = 1
    document = {"revision": revision, "updated": datetime.now(UTC).isoformat(), **build_routes(session)}
    store.put_json(ROUTES_KEY, document)
    return revision
