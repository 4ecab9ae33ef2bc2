"""The serving routing table (`routing/routes.json`): who may call, and which version serves a system."""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlmodel import Session, select

from logsynergy.errors import LogSynergyError, ObjectNotFound
from logsynergy.store import ObjectStore
from logsynergy_api.models import AlertHook, ApiKey, ModelVersion, System, Tenant
from logsynergy_contracts import ROUTES_KEY, RoutingDocument, SystemRoute, system_key, utc_now

log = logging.getLogger(__name__)


def build_routes(session: Session, revision: int = 0) -> RoutingDocument:
    """The routing table as the database has it now."""
    tenants = {t.id: t.name for t in session.exec(select(Tenant))}
    keys = {k.key_hash: tenants[k.tenant_id] for k in session.exec(select(ApiKey)) if k.tenant_id in tenants}
    versions: defaultdict[int | None, dict[str, str]] = defaultdict(dict)
    for model in session.exec(select(ModelVersion)):
        versions[model.system_id][str(model.version)] = model.artifact_key
    hooks: defaultdict[int | None, list[str]] = defaultdict(list)
    for hook in session.exec(select(AlertHook)):
        hooks[hook.system_id].append(hook.url)
    systems = {
        system_key(tenants[s.tenant_id], s.name): SystemRoute(
            active=str(s.active_version) if s.active_version is not None else None,
            versions=versions[s.id],
            hooks=hooks[s.id],
        )
        for s in session.exec(select(System))
    }
    return RoutingDocument(revision=revision, updated=utc_now(), keys=keys, systems=systems)


def published_revision(store: ObjectStore) -> int:
    """The revision of the stored table; 0 when there is none or it is unreadable."""
    try:
        return RoutingDocument.parse(store.get_json(ROUTES_KEY))[0].revision
    except ObjectNotFound:
        return 0
    except LogSynergyError as error:
        log.warning("the stored routing table is unreadable (%s); rewriting it", error)
        return 0


def publish_routes(session: Session, store: ObjectStore) -> int:
    """Rewrite the routing table from the database; returns its new revision."""
    document = build_routes(session, published_revision(store) + 1)
    store.put_json(ROUTES_KEY, document.model_dump(mode="json"))
    return document.revision


def commit_and_publish(session: Session, store: ObjectStore) -> None:
    """Commit a change to what the routing table holds, then publish the table from the committed state."""
    session.commit()
    publish_routes(session, store)
